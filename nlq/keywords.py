"""The fixed words of the question language and the grammar terminal each one becomes.

Phrases of several words are matched before single words (longest first), so "mean time to resolve"
is one MTTR token and "compared to" one VS token.
"""

from __future__ import annotations

from nlq.ast import AggKind, Aggregation, Step, Unit

Keyword = tuple[str, object]

_AVG = Aggregation(AggKind.AVG)
_MAX = Aggregation(AggKind.MAX)
_MIN = Aggregation(AggKind.MIN)
_SUM = Aggregation(AggKind.SUM)
_COUNT = Aggregation(AggKind.COUNT)
_MEDIAN = Aggregation(AggKind.QUANTILE, 0.5)


def _words(table: dict[str, Keyword]) -> dict[tuple[str, ...], Keyword]:
    return {tuple(phrase.split()): meaning for phrase, meaning in table.items()}


KEYWORDS: dict[tuple[str, ...], Keyword] = _words(
    {
        # aggregations
        "average": ("AGG", _AVG),
        "avg": ("AGG", _AVG),
        "mean": ("AGG", _AVG),
        "max": ("AGG", _MAX),
        "maximum": ("AGG", _MAX),
        "peak": ("AGG", _MAX),
        "peaked": ("AGG", _MAX),
        "min": ("AGG", _MIN),
        "minimum": ("AGG", _MIN),
        "sum": ("AGG", _SUM),
        "total": ("AGG", _SUM),
        "count": ("AGG", _COUNT),
        "number": ("AGG", _COUNT),
        "median": ("AGG", _MEDIAN),
        # ranking words
        "highest": ("HIGH", None),
        "most": ("HIGH", None),
        "largest": ("HIGH", None),
        "biggest": ("HIGH", None),
        "busiest": ("HIGH", None),
        "lowest": ("LOW", None),
        "least": ("LOW", None),
        "fewest": ("LOW", None),
        "smallest": ("LOW", None),
        "top": ("TOP", None),
        "bottom": ("BOTTOM", None),
        # question heads
        "which": ("WHICH", None),
        "when": ("WHEN", None),
        "what time": ("WHEN", None),
        "at what time": ("WHEN", None),
        "how many": ("HOW_MANY", None),
        "for how many": ("HOW_MANY", None),
        "how long": ("HOW_LONG", None),
        "for how long": ("HOW_LONG", None),
        "how much time": ("HOW_LONG", None),
        # units and steps
        "minute": ("UNIT", Unit.MINUTE),
        "minutes": ("UNIT", Unit.MINUTE),
        "mins": ("UNIT", Unit.MINUTE),
        "hour": ("UNIT", Unit.HOUR),
        "hours": ("UNIT", Unit.HOUR),
        "hrs": ("UNIT", Unit.HOUR),
        "hr": ("UNIT", Unit.HOUR),
        "day": ("UNIT", Unit.DAY),
        "days": ("UNIT", Unit.DAY),
        "week": ("UNIT", Unit.WEEK),
        "weeks": ("UNIT", Unit.WEEK),
        "month": ("UNIT", Unit.MONTH),
        "months": ("UNIT", Unit.MONTH),
        "year": ("UNIT", Unit.YEAR),
        "years": ("UNIT", Unit.YEAR),
        "hourly": ("STEP", Step.HOUR),
        "daily": ("STEP", Step.DAY),
        "weekly": ("STEP", Step.WEEK),
        "monthly": ("STEP", Step.MONTH),
        # grouping
        "by": ("BY", None),
        "grouped by": ("BY", None),
        "broken down by": ("BY", None),
        "split by": ("BY", None),
        "per": ("PER", None),
        "each": ("PER", None),
        "every": ("PER", None),
        "for each": ("PER", None),
        "for every": ("PER", None),
        # prepositions
        "on": ("ON", None),
        "for": ("FOR", None),
        "in": ("IN", None),
        "within": ("IN", None),
        "at": ("AT", None),
        "from": ("FROM", None),
        "to": ("TO", None),
        "until": ("TO", None),
        "till": ("TO", None),
        "through": ("TO", None),
        "during": ("DURING", None),
        "throughout": ("DURING", None),
        "and": ("AND", None),
        "or": ("AND", None),
        # time words
        "today": ("TODAY", None),
        "yesterday": ("YESTERDAY", None),
        "last": ("LAST", "last"),
        "previous": ("LAST", "last"),
        "past": ("LAST", "past"),
        "preceding": ("LAST", "past"),
        "this": ("THIS", None),
        "current": ("THIS", None),
        "since": ("SINCE", None),
        "between": ("BETWEEN", None),
        "ago": ("AGO", None),
        # thresholds and comparisons
        "above": ("ABOVE", None),
        "exceeded": ("ABOVE", None),
        "exceeding": ("ABOVE", None),
        "more than": ("ABOVE", None),
        "greater than": ("ABOVE", None),
        "higher than": ("ABOVE", None),
        ">": ("ABOVE", None),
        "below": ("BELOW", None),
        "under": ("BELOW", None),
        "less than": ("BELOW", None),
        "lower than": ("BELOW", None),
        "<": ("BELOW", None),
        "vs": ("VS", None),
        "versus": ("VS", None),
        "compared to": ("VS", None),
        "compared with": ("VS", None),
        "against": ("VS", None),
        # incident history
        "incident": ("INCIDENTS", None),
        "incidents": ("INCIDENTS", None),
        "outage": ("INCIDENTS", None),
        "outages": ("INCIDENTS", None),
        "alert": ("ALERTS", None),
        "alerts": ("ALERTS", None),
        "alarms": ("ALERTS", None),
        "playbook": ("PLAYBOOKS", None),
        "playbooks": ("PLAYBOOKS", None),
        "mttr": ("MTTR", None),
        "mean time to resolve": ("MTTR", None),
        "mean time to resolution": ("MTTR", None),
        "mean time to recovery": ("MTTR", None),
        "mean time to recover": ("MTTR", None),
        "mean time to repair": ("MTTR", None),
        "time to resolve": ("MTTR", None),
        "time to resolution": ("MTTR", None),
        "resolution time": ("MTTR", None),
        "mtta": ("MTTA", None),
        "mean time to acknowledge": ("MTTA", None),
        "mean time to acknowledgement": ("MTTA", None),
        "mean time to ack": ("MTTA", None),
        "time to acknowledge": ("MTTA", None),
        "time to ack": ("MTTA", None),
        "acknowledgement time": ("MTTA", None),
        "auto-resolved": ("AUTO_RESOLVED", None),
        "auto resolved": ("AUTO_RESOLVED", None),
        "autoresolved": ("AUTO_RESOLVED", None),
        "auto-resolve": ("AUTO_RESOLVED", None),
        "auto-resolution": ("AUTO_RESOLVED", None),
        "resolved automatically": ("AUTO_RESOLVED", None),
        "automatically resolved": ("AUTO_RESOLVED", None),
        "share": ("SHARE", None),
        "percentage": ("SHARE", None),
        "fraction": ("SHARE", None),
        "proportion": ("SHARE", None),
        "rate": ("SHARE", None),
        "%": ("SHARE", None),
        "priority": ("PRIORITY_KEY", None),
        "priorities": ("PRIORITY_KEY", None),
        "severity": ("PRIORITY_KEY", None),
    }
)

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

WEEKDAYS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}

NUMBER_WORDS: dict[str, int] = {
    word: n
    for n, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}

# Words of metric names too generic to name a metric on their own ("usage" is in many names); they
# only extend a metric phrase begun by a distinctive word, and are ignored elsewhere.
WEAK_METRIC_WORDS = frozenset(
    {
        "usage",
        "utilization",
        "utilisation",
        "used",
        "use",
        "bytes",
        "percent",
        "pct",
        "ms",
        "seconds",
        "milliseconds",
        "total",
        "count",
        "rate",
        "ratio",
        "http",
        "current",
        "value",
    }
)

# Label keys spelled the way people say them; applied only when the target key exists.
KEY_ALIASES: dict[str, str] = {"server": "host", "machine": "host", "node": "host", "svc": "service"}

# Words that carry no meaning for the query.
# fmt: off
FILLERS = frozenset((
    "a", "an", "the", "of", "me", "us", "show", "give", "tell", "list", "get", "find", "what", "whats",
    "was", "were", "is", "are", "be", "been", "being", "did", "does", "do", "has", "have", "had",
    "there", "please", "s", "it", "its", "that", "with", "we", "our", "my", "i", "you", "can", "could",
    "would", "see", "look", "all", "any", "overall", "across", "value", "values", "level", "levels",
    "data", "ran", "run", "runs", "executed", "triggered", "fired", "opened", "happened", "got",
    "spend", "spent", "stay", "stayed", "remain", "remained", "go", "went", "reach", "reached", "hit",
    "times", "time", "over", "use", "used", "usage", "many", "long", "much", "how", "point", "points",
    "sample", "samples", "readings",
))
# fmt: on
