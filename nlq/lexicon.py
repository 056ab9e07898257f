"""Words → grammar terminals, using the fixed keywords and the database's vocabulary.

The grammar (`questions.lark`) is written over *kinds* of words — a metric, a label value, a unit —
because which words name metrics and hosts is data, not syntax. This module decides the kind of
every word: metric phrases by the words of metric names ("CPU usage" → cpu_usage), label values by
exact match ("web-1" → host=web-1), and the fixed vocabulary of `nlq.keywords`. A word it cannot
place is refused here, with the nearest known word, before any parsing.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from nlq.ast import AggKind, Aggregation, Unit
from nlq.errors import CannotAnswer
from nlq.examples import example_questions
from nlq.keywords import (
    FILLERS,
    KEY_ALIASES,
    KEYWORDS,
    MONTHS,
    NUMBER_WORDS,
    WEAK_METRIC_WORDS,
    WEEKDAYS,
)
from nlq.phrases import label_key
from nlq.vocabulary import Vocabulary

_TOKEN = re.compile(r"\d{4}-\d{2}-\d{2}|[<>%]|\w[\w.:/\-]*[\w%]|\w")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)(st|nd|rd|th|%|ms|s|sec|rpm|kb|mb|gb|x)?$")
_NUMBER_WITH_UNIT = re.compile(r"^(\d+)(m|min|mins|h|hr|hrs|d|w|wk|mo|y|yr)$")
_QUANTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
_PRIORITY = re.compile(r"^(?:p|sev|sev-|priority)([1-5])s?$")
_METRIC_SPLIT = re.compile(r"[_.:/\-]+")
_GLUED_UNITS = {
    "m": Unit.MINUTE,
    "min": Unit.MINUTE,
    "mins": Unit.MINUTE,
    "h": Unit.HOUR,
    "hr": Unit.HOUR,
    "hrs": Unit.HOUR,
    "d": Unit.DAY,
    "w": Unit.WEEK,
    "wk": Unit.WEEK,
    "mo": Unit.MONTH,
    "y": Unit.YEAR,
    "yr": Unit.YEAR,
}
# when a value is known under several label keys, the first of these wins
_KEY_PREFERENCE = ("service", "host", "instance", "job", "region", "cluster", "namespace", "pod")
_LONGEST_KEYWORD = max(len(phrase) for phrase in KEYWORDS)
# fixed words worth suggesting for a misspelling: not the short glue words ("and", "for")
_SUGGESTED_KEYWORDS = (
    frozenset(
        words[0]
        for words, (kind, _value) in KEYWORDS.items()
        if len(words) == 1
        and len(words[0]) >= 4
        and kind not in {"AND", "FOR", "IN", "ON", "AT", "FROM", "TO", "BY", "PER"}
    )
    | frozenset(MONTHS)
    | frozenset(WEEKDAYS)
)
# keywords whose meaning depends on the next word: decided in Lexicon._word
_CONTEXTUAL = frozenset({"priority", "severity"})


@dataclass(frozen=True)
class Tag:
    """One terminal for the parser: its kind, its meaning, and the words it came from."""

    kind: str
    value: object
    text: str


class Lexicon:
    """The index of one vocabulary; build it once per vocabulary, tag many questions with it."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._metric_names = {m.lower(): m for m in vocabulary.metrics}
        self._metric_words: dict[str, set[str]] = {}
        self._words_of: dict[str, frozenset[str]] = {}
        for metric in vocabulary.metrics:
            words = frozenset(w for w in _METRIC_SPLIT.split(metric.lower()) if w)
            self._words_of[metric] = words
            for word in words:
                self._metric_words.setdefault(word, set()).add(metric)
        self._synonyms = {tuple(_words(phrase)): m for phrase, m in vocabulary.synonyms.items()}
        self._longest_synonym = max((len(p) for p in self._synonyms), default=0)
        self._values: dict[str, list[tuple[str, str]]] = {}
        for key in sorted(vocabulary.labels, key=_key_rank):
            for value in sorted(vocabulary.labels[key]):
                self._values.setdefault(value.lower(), []).append((key, value))
        keys = set(vocabulary.labels) | {"service"}
        self._keys: dict[str, tuple[str, bool]] = {}
        for key in keys:
            self._keys[key.lower()] = (key, False)
            self._keys[_plural(key.lower())] = (key, True)
        for alias, key in KEY_ALIASES.items():
            if key in keys:
                self._keys.setdefault(alias, (key, False))
                self._keys.setdefault(_plural(alias), (key, True))

    def tag(self, question: str) -> list[Tag]:
        words = _words(question)
        tags: list[Tag] = []
        i = 0
        while i < len(words):
            tag, used = self._tag_at(words, i, tags)
            if tag is not None:
                tags.append(tag)
            i += used
        return tags

    # -- one position -------------------------------------------------------------------------------

    def _tag_at(self, words: list[str], i: int, tags: list[Tag]) -> tuple[Tag | None, int]:
        """The tag for words[i] (None for a word that adds nothing) and how many words it used.

        The order is the precedence: the data's names beat fixed words only where nothing fixed
        could be meant ("service alerts" is the service named alerts; "alerts" alone the subject).
        """
        word = words[i]
        previous = tags[-1] if tags else None
        if previous is not None and previous.kind == "KEY":
            value = self._value_of(word, key=_key_of(previous))
            if value is not None:
                return Tag("LABEL", value, word), 1
        for found in (
            self._number(word, words[i + 1] if i + 1 < len(words) else None, tags),
            self._keyword_phrase(words, i),
            self._synonym(words, i),
        ):
            if found is not None:
                return found
        if word in self._metric_names:
            return Tag("METRIC", self._metric_names[word], word), 1
        meaning = KEYWORDS.get((word,))
        if meaning is not None and word not in _CONTEXTUAL:
            return _keyword_tag(meaning, word), 1
        value = self._value_of(word)
        if value is not None:
            return Tag("LABEL", value, word), 1
        if word in self._keys:
            return Tag("KEY", self._keys[word], word), 1
        metric = self._metric_phrase(words, i)
        if metric is not None:
            return metric
        return self._word(words, i, previous)

    def _number(self, word: str, following: str | None, tags: list[Tag]) -> tuple[Tag | None, int] | None:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
            try:
                return Tag("DATE", date.fromisoformat(word), word), 1
            except ValueError:
                raise CannotAnswer(f"'{word}' is not a date") from None
        if word == "%" and tags and tags[-1].kind == "NUMBER":
            return None, 1  # "90 %": the sign adds nothing to the number
        glued = _NUMBER_WITH_UNIT.match(word)
        if glued:
            tags.append(Tag("NUMBER", _finite(float(glued.group(1)), word), glued.group(1)))
            return Tag("UNIT", _GLUED_UNITS[glued.group(2)], glued.group(2)), 1
        match = _NUMBER.match(word)
        spelled = NUMBER_WORDS.get(word)
        # a float either way: int has no is_integer() before Python 3.12
        number = float(match.group(1)) if match else float(spelled) if spelled is not None else None
        if number is None:
            return None
        _finite(number, word)
        if following == "percentile":
            return Tag("AGG", _quantile(number, word), f"{word} percentile"), 2
        if _is_year(number, tags):
            return Tag("YEAR", int(number), word), 1
        return Tag("NUMBER", float(number), word), 1

    def _keyword_phrase(self, words: list[str], i: int) -> tuple[Tag, int] | None:
        for length in range(min(_LONGEST_KEYWORD, len(words) - i), 1, -1):
            meaning = KEYWORDS.get(tuple(words[i : i + length]))
            if meaning is not None:
                return Tag(meaning[0], meaning[1], " ".join(words[i : i + length])), length
        return None

    def _synonym(self, words: list[str], i: int) -> tuple[Tag, int] | None:
        for length in range(min(self._longest_synonym, len(words) - i), 0, -1):
            metric = self._synonyms.get(tuple(words[i : i + length]))
            if metric is not None:
                return Tag("METRIC", metric, " ".join(words[i : i + length])), length
        return None

    def _metric_phrase(self, words: list[str], i: int) -> tuple[Tag, int] | None:
        """The longest run of words that all belong to some metric's name, begun by a telling word."""
        first = words[i]
        if first in WEAK_METRIC_WORDS or (first,) in KEYWORDS or first in FILLERS:
            return None
        candidates = self._metrics_with(first)
        if not candidates:
            return None
        end = i + 1
        while end < len(words):
            narrowed = candidates & self._metrics_with(words[end])
            if not narrowed:
                break
            candidates, end = narrowed, end + 1
        said = {_singular_in(w, self._metric_words) for w in words[i:end]}
        # "cpu" → cpu_usage rather than cpu_seconds_total: the name the words cover best
        ranked = sorted(candidates, key=lambda m: (-_cover(said, self._words_of[m]), m))
        best = ranked[0]
        if len(ranked) > 1:
            best_cover = _cover(said, self._words_of[best])
            if best_cover == _cover(said, self._words_of[ranked[1]]):
                names = ", ".join(sorted(m for m in ranked if _cover(said, self._words_of[m]) == best_cover))
                phrase = " ".join(words[i:end])
                raise CannotAnswer(
                    f"'{phrase}' could be several metrics: {names} — which one?",
                    [f"average {m} yesterday" for m in ranked[:3]],
                )
        return Tag("METRIC", best, " ".join(words[i:end])), end - i

    def _word(self, words: list[str], i: int, previous: Tag | None) -> tuple[Tag | None, int]:
        """Fixed words that depend on their neighbour, dates' words, fillers; else a refusal."""
        word = words[i]
        following = words[i + 1] if i + 1 < len(words) else None
        if word == "over":
            is_threshold = following is not None and bool(
                _NUMBER.match(following) or following in NUMBER_WORDS
            )
            return (Tag("ABOVE", None, word) if is_threshold else None), 1
        if word == "what":
            return (Tag("WHICH", None, word) if following in self._keys else None), 1
        if word in ("priority", "severity", "sev") and following in {"1", "2", "3", "4", "5"}:
            return Tag("PRIORITY", int(following), f"{word} {following}"), 2
        if word == "percentile" and following is not None:
            number = _NUMBER.match(following)
            if number:
                return Tag("AGG", _quantile(float(number.group(1)), following), f"{word} {following}"), 2
        priority = _PRIORITY.match(word)
        if priority:
            return Tag("PRIORITY", int(priority.group(1)), word), 1
        quantile = _QUANTILE.match(word)
        if quantile:
            return Tag("AGG", _quantile(float(quantile.group(1)), word), word), 1
        meaning = KEYWORDS.get((word,))
        if meaning is not None:
            return _keyword_tag(meaning, word), 1
        if word in MONTHS:
            return Tag("MONTH", MONTHS[word], word), 1
        if word in WEEKDAYS:
            return Tag("WEEKDAY", WEEKDAYS[word], word), 1
        if word in FILLERS or word in WEAK_METRIC_WORDS:
            return None, 1
        raise self._unknown(word, previous, words, i)

    # -- lookups ------------------------------------------------------------------------------------

    def _metrics_with(self, word: str) -> set[str]:
        found = self._metric_words.get(word)
        if found is None:
            found = self._metric_words.get(_singular_in(word, self._metric_words), set())
        return found

    def _value_of(self, word: str, key: str | None = None) -> tuple[str, str] | None:
        matches = self._values.get(word, [])
        if key is not None:
            matches = [m for m in matches if m[0] == key]
        return matches[0] if matches else None

    def _unknown(self, word: str, previous: Tag | None, words: list[str], i: int) -> CannotAnswer:
        if previous is not None and previous.kind == "KEY":
            key = _key_of(previous)
            pool = sorted(self.vocabulary.labels.get(key, ()))
            what = f"{key} '{word}'"
        else:
            pool = sorted({*self._metric_names.values(), *self._values_original(), *_SUGGESTED_KEYWORDS})
            what = f"'{word}'"
        close = difflib.get_close_matches(word, pool, n=3, cutoff=0.6)
        if not close:
            # a word of a metric's name ("fan" for fan_speed_rpm) is a good guess too
            close = [
                m
                for w in difflib.get_close_matches(word, list(self._metric_words), n=2, cutoff=0.6)
                for m in sorted(self._metric_words[w])
            ][:3]
        message = f"I don't know {what}"
        if close:
            message += f" — did you mean '{close[0]}'?"
        corrected = [" ".join([*words[:i], option, *words[i + 1 :]]) for option in close[:1]]
        return CannotAnswer(message, [*corrected, *example_questions(self.vocabulary)])

    def _values_original(self) -> Iterable[str]:
        return (value for matches in self._values.values() for _key, value in matches)


def _keyword_tag(meaning: tuple[str, object], word: str) -> Tag:
    if meaning[0] in ("INCIDENTS", "ALERTS", "PLAYBOOKS"):
        # "which playbook" asks for one, "which playbooks" for a ranking
        return Tag(meaning[0], word.endswith("s"), word)
    return Tag(meaning[0], meaning[1], word)


def _key_of(tag: Tag) -> str:
    return label_key(tag.value)[0]


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _singular_in(word: str, known: dict[str, set[str]]) -> str:
    """`word`, or its singular when only that is a known word ("latencies" → "latency")."""
    if word in known:
        return word
    if not word.endswith("s"):
        return word
    for candidate in (
        word[:-3] + "y" if word.endswith("ies") else "",
        word[:-2] if word.endswith("es") else "",
        word[:-1],
    ):
        if candidate and candidate in known:
            return candidate
    return word


def _cover(said: set[str], name_words: frozenset[str]) -> float:
    return len(said & name_words) / len(name_words)


def _key_rank(key: str) -> tuple[int, str]:
    return (_KEY_PREFERENCE.index(key) if key in _KEY_PREFERENCE else len(_KEY_PREFERENCE), key)


def _finite(number: float, text: str) -> float:
    """Hundreds of digits make an infinite float: no time range, limit or threshold, and no JSON."""
    if not math.isfinite(number):
        raise CannotAnswer(f"'{text[:12]}…' is too large a number")
    return number


def _quantile(number: float, text: str) -> Aggregation:
    if not 0 < number < 100:
        raise CannotAnswer(f"'{text}' is not a percentile between 0 and 100")
    return Aggregation(AggKind.QUANTILE, number / 100)


def _is_year(number: float, tags: list[Tag]) -> bool:
    """A four-digit number right after a month ("March 2026", "March 3 2026") is a year."""
    if not (number.is_integer() and 1970 <= number <= 2100) or not tags:
        return False
    if tags[-1].kind == "MONTH":
        return True
    return len(tags) >= 2 and tags[-1].kind == "NUMBER" and tags[-2].kind == "MONTH"
