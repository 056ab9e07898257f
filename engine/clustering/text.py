"""Alert text as sparse unit vectors for cosine similarity.

Two pods failing the same way differ only in numbers, pod hashes and ids ("checkout p99 latency 4338ms
on checkout-1e834" vs "... 1160ms on checkout-b980a"), so those are normalized away before counting
tokens: the vector says what kind of problem an alert reports, not which replica or how bad.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping

TextVector = Mapping[str, float]

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+[0-9]*|[0-9]+")
_DIGITS = re.compile(r"[0-9]+")
_HEX_ID = re.compile(r"[0-9a-f]+")
_NUMBER_WITH_UNIT = re.compile(r"[0-9]+([a-z]{1,3})")

# Function words carry no information about the failure; kept short and generic on purpose.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "than",
        "the",
        "to",
        "was",
        "were",
        "with",
    }
)


@functools.lru_cache(maxsize=65_536)
def normalize_token(token: str) -> str | None:
    """The token with volatile parts removed, or None when nothing meaningful is left.

    Numbers and ids (pod hashes, container ids, generated suffixes) disappear; a number glued to a
    unit keeps the unit as a placeholder ("4338ms" -> "#ms") because the unit still says what was
    measured.
    """
    if token in STOPWORDS:
        return None
    digits = sum(ch.isdigit() for ch in token)
    if digits == 0:
        return token if len(token) > 1 else None
    if digits == len(token):
        return None
    measured = _NUMBER_WITH_UNIT.fullmatch(token)
    if measured is not None:
        return "#" + measured.group(1)
    if len(token) >= 4 and _HEX_ID.fullmatch(token):
        return None
    if digits >= 2 and len(token) >= 5:
        return None  # letters and digits mixed like this are generated ids, not words
    collapsed = _DIGITS.sub("#", token)
    letters = sum(ch.isalpha() for ch in collapsed)
    return collapsed if letters >= 2 else None


def words(text: str) -> list[str]:
    """Normalized tokens of free text (summaries)."""
    result: list[str] = []
    for raw in _WORD.findall(text.lower()):
        token = normalize_token(raw)
        if token is not None:
            result.append(token)
    return result


@functools.lru_cache(maxsize=16_384)
def name_words(name: str) -> tuple[str, ...]:
    """Normalized words of an identifier in CamelCase, snake_case or kebab-case."""
    result: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", name):
        for part in _CAMEL_PART.findall(chunk):
            token = normalize_token(part.lower())
            if token is not None:
                result.append(token)
    return tuple(result)


@functools.lru_cache(maxsize=16_384)
def value_words(value: str) -> tuple[str, ...]:
    """Normalized tokens of a label value; label values repeat endlessly, so they are cached."""
    return tuple(words(value))


def unit_vector(weighted_tokens: Iterable[tuple[str, float]]) -> dict[str, float]:
    counts: dict[str, float] = {}
    for token, weight in weighted_tokens:
        counts[token] = counts.get(token, 0.0) + weight
    norm = math.sqrt(sum(w * w for w in counts.values()))
    if norm == 0.0:
        return {}
    return {token: weight / norm for token, weight in counts.items()}


def cosine(a: TextVector, b: TextVector) -> float:
    """Cosine similarity of two unit vectors (0 when either is empty)."""
    if len(a) > len(b):
        a, b = b, a
    total = 0.0
    for token, weight in a.items():
        other = b.get(token)
        if other is not None:
            total += weight * other
    return min(1.0, total)
