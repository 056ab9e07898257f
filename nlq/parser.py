"""Question text → AST: tag the words (`nlq.lexicon`), parse them (`questions.lark`), assemble.

Pure: the vocabulary arrives inside the Lexicon, and nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import lark
from lark.exceptions import UnexpectedInput, VisitError
from lark.lexer import Lexer, Token

from nlq.assemble import assemble
from nlq.ast import (
    Between,
    CalendarDate,
    CalendarPeriod,
    DayRef,
    DaysAgo,
    InMonth,
    Question,
    Rolling,
    Since,
    Unit,
    Weekday,
    WholeDay,
    explicit_date,
)
from nlq.errors import CannotAnswer
from nlq.examples import example_questions
from nlq.lexicon import Lexicon, Tag
from nlq.phrases import (
    AggregationPhrase,
    FilterPhrase,
    GroupPhrase,
    Head,
    MetricPhrase,
    Phrase,
    PriorityPhrase,
    RankMeasurePhrase,
    RankPhrase,
    StepPhrase,
    SubjectPhrase,
    ThresholdPhrase,
    TimePhrase,
    VersusPhrase,
)

GRAMMAR = Path(__file__).with_name("questions.lark")


def parse(question: str, lexicon: Lexicon) -> Question:
    """The AST of `question`, or CannotAnswer saying which word or construction is not understood."""
    examples = example_questions(lexicon.vocabulary)
    if not question.strip():
        raise CannotAnswer("Ask me a question about metrics or incidents.", examples)
    try:
        tags = lexicon.tag(question)
    except CannotAnswer as refusal:
        raise refusal.with_suggestions(examples) from None
    if not tags:
        raise CannotAnswer(f"I don't understand '{question.strip()}'.", examples)
    try:
        tree = _parser().parse(tags)
        head, phrases = _ToPhrases().transform(tree)
    except UnexpectedInput as exc:
        raise CannotAnswer(_unexpected(exc, tags), examples) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, CannotAnswer):
            raise exc.orig_exc.with_suggestions(examples) from None
        raise
    try:
        return assemble(head, phrases)
    except CannotAnswer as refusal:
        raise refusal.with_suggestions(examples) from None


class _TagLexer(Lexer):
    """Feeds already-tagged words to the parser; `start_pos` is the word's position for messages."""

    def __init__(self, _conf: Any) -> None:
        pass

    def lex(self, data: list[Tag]) -> Iterator[Token]:  # type: ignore[override]
        for position, tag in enumerate(data):
            yield Token(tag.kind, tag.value, start_pos=position)


@cache
def _parser() -> lark.Lark:
    return lark.Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer=_TagLexer)


def _unexpected(exc: UnexpectedInput, tags: list[Tag]) -> str:
    token = getattr(exc, "token", None)
    position = getattr(token, "start_pos", None)
    if isinstance(position, int) and 0 <= position < len(tags):
        return f"I don't understand '{tags[position].text}' there; try one of the examples."
    return "That question ends too early: say what to measure (a metric, incidents, alerts…)."


class _ToPhrases(lark.Transformer[Token, tuple[Head, list[Phrase]]]):
    """Parse tree → (head, phrases); every rule of the grammar has a method here."""

    def plain_question(self, items: list[Phrase]) -> tuple[Head, list[Phrase]]:
        return Head("plain"), items

    def start(self, items: list[tuple[Head, list[Phrase]]]) -> tuple[Head, list[Phrase]]:
        return items[0]

    def which_question(self, items: list[Any]) -> tuple[Head, list[Phrase]]:
        subject: Token = items[1]
        return Head("which", subject=subject.type, key=subject.value), items[2:]

    def when_question(self, items: list[Any]) -> tuple[Head, list[Phrase]]:
        return Head("when"), items[1:]

    def count_question(self, items: list[Any]) -> tuple[Head, list[Phrase]]:
        return Head("count"), items[1:]

    def hours_question(self, items: list[Any]) -> tuple[Head, list[Phrase]]:
        return Head("duration", unit=items[1].value), items[2:]

    def how_long_question(self, items: list[Any]) -> tuple[Head, list[Phrase]]:
        return Head("duration", unit=Unit.MINUTE), items[1:]

    def subject_key(self, items: list[Token]) -> Token:
        return items[0]

    def group_key(self, items: list[Token]) -> Token:
        return items[0]

    def metric(self, items: list[Token]) -> MetricPhrase:
        return MetricPhrase(str(items[0].value))

    def aggregation(self, items: list[Token]) -> AggregationPhrase:
        token = items[0]
        if token.type == "AGG":
            return AggregationPhrase(aggregation=token.value)
        return AggregationPhrase(high=token.type == "HIGH")

    def filter(self, items: list[Token]) -> FilterPhrase:
        return FilterPhrase(tuple(t.value for t in items if t.type == "LABEL"))

    def time(self, items: list[Any]) -> TimePhrase:
        return TimePhrase(items[-1])

    def grouping(self, items: list[Token]) -> GroupPhrase:
        return GroupPhrase(tuple((t.type, t.value) for t in items if t.type not in ("BY", "PER", "AND")))

    def step(self, items: list[Token]) -> StepPhrase:
        return StepPhrase(items[0].value)

    def ranking(self, items: list[Token]) -> RankPhrase:
        numbers = [t for t in items if t.type == "NUMBER"]
        keys = [t for t in items if t.type in ("KEY", "PRIORITY_KEY")]
        return RankPhrase(
            highest=items[0].type == "TOP",
            limit=_whole(numbers[0].value, "top") if numbers else None,
            key=(keys[0].type, keys[0].value) if keys else None,
        )

    def rank_measure(self, items: list[Token]) -> RankMeasurePhrase:
        agg = next((t.value for t in items if t.type == "AGG"), None)
        metric = next((str(t.value) for t in items if t.type == "METRIC"), None)
        subject = next((t.type for t in items if t.type not in ("BY", "AGG", "METRIC")), None)
        return RankMeasurePhrase(aggregation=agg, metric=metric, subject=subject)

    def threshold(self, items: list[Token]) -> ThresholdPhrase:
        return ThresholdPhrase(above=items[0].type == "ABOVE", value=float(items[1].value))

    def versus(self, _items: list[Token]) -> VersusPhrase:
        return VersusPhrase()

    def subject(self, items: list[Token]) -> SubjectPhrase:
        return SubjectPhrase(items[0].type)

    def priorities(self, items: list[Token]) -> PriorityPhrase:
        return PriorityPhrase(tuple(int(t.value) for t in items if t.type == "PRIORITY"))

    # periods

    def on_day(self, items: list[DayRef]) -> WholeDay:
        return WholeDay(items[0])

    def last(self, items: list[Token]) -> Rolling | CalendarPeriod:
        unit: Unit = items[-1].value
        if len(items) == 3:
            return Rolling(_whole(items[1].value, "last"), unit)
        # "last week" is the previous calendar week; "past week", "last hour" are rolling
        if items[0].value == "last" and unit in (Unit.WEEK, Unit.MONTH, Unit.YEAR):
            return CalendarPeriod(unit, back=1)
        return Rolling(1, unit)

    def this(self, items: list[Token]) -> CalendarPeriod | WholeDay:
        unit: Unit = items[1].value
        if unit is Unit.DAY:
            return WholeDay(DaysAgo(0))
        if unit not in (Unit.WEEK, Unit.MONTH, Unit.YEAR):
            raise CannotAnswer(f"'this {unit.value}' is not a period I know; try 'last 1 {unit.value}'")
        return CalendarPeriod(unit, back=0)

    def days_ago(self, items: list[Token]) -> WholeDay | Rolling:
        count, unit = _whole(items[0].value, "ago"), items[1].value
        if unit is Unit.DAY:
            return WholeDay(DaysAgo(count))
        raise CannotAnswer(f"say 'last {count} {unit.value}s' rather than '{count} {unit.value}s ago'")

    def since(self, items: list[Any]) -> Since:
        return Since(items[1])

    def between(self, items: list[Any]) -> Between:
        days = [item for item in items if not isinstance(item, Token)]
        return Between(days[0], days[1])

    def in_month(self, items: list[Token]) -> InMonth:
        return InMonth(int(items[0].value), int(items[1].value) if len(items) > 1 else None)

    # days

    def today(self, _items: list[Token]) -> DaysAgo:
        return DaysAgo(0)

    def yesterday(self, _items: list[Token]) -> DaysAgo:
        return DaysAgo(1)

    def iso_date(self, items: list[Token]) -> CalendarDate:
        return explicit_date(items[0].value)

    def month_day(self, items: list[Token]) -> CalendarDate:
        return _calendar_date(items[0].value, items[1].value, items[2].value if len(items) > 2 else None)

    def day_month(self, items: list[Token]) -> CalendarDate:
        return _calendar_date(items[1].value, items[0].value, items[2].value if len(items) > 2 else None)

    def weekday(self, items: list[Token]) -> Weekday:
        return Weekday(int(items[0].value))


def _calendar_date(month: int, day: float, year: int | None) -> CalendarDate:
    number = _whole(day, "day")
    if not 1 <= number <= 31:
        raise CannotAnswer(f"{number} is not a day of the month")
    return CalendarDate(int(month), number, int(year) if year is not None else None)


def _whole(value: float, what: str) -> int:
    if not float(value).is_integer() or value < 1:
        raise CannotAnswer(f"'{what} {value:g}' needs a whole number of at least 1")
    return int(value)
