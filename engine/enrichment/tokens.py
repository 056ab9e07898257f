"""Words of incident titles and alert names, with what varies between two occurrences of the same
problem removed: numbers, ids, hosts' replica suffixes. "HighErrorRate on checkout-7f9c2d: 12% 5xx"
and "High error rate on checkout-1b2e3f: 31% 5xx" become the same words.
"""

from __future__ import annotations

import functools
import re

_CHUNK = re.compile(r"[^A-Za-z0-9]+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+[0-9]*|[0-9]+[A-Za-z]*")
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9a-f]+")

# Function words say nothing about a failure; the list is short and generic on purpose.
# fmt: off
STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into", "is",
     "it", "of", "on", "or", "than", "the", "to", "was", "were", "with"}
)
# fmt: on


@functools.lru_cache(maxsize=65_536)
def normalize(token: str) -> str | None:
    """A lower-case token without its volatile parts, or None when nothing meaningful is left."""
    token = token.lower()
    if token in STOPWORDS:
        return None
    if any(ch.isdigit() for ch in token):
        if len(token) >= 4 and _HEX.fullmatch(token):
            return None  # a pod hash or container id
        token = _DIGITS.sub("#", token)  # "5xx" -> "#xx", "500ms" -> "#ms": the unit still says what
        return token if sum(ch.isalpha() for ch in token) >= 2 else None
    if len(token) < 2:
        return None
    return _singular(token)


def _singular(word: str) -> str:
    # "errors"/"error", "timeouts"/"timeout": enough for short titles, no stemmer needed
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=65_536)
def words(text: str) -> tuple[str, ...]:
    """Normalized words of a title or an identifier (CamelCase, snake_case, kebab-case, prose)."""
    result: list[str] = []
    for chunk in _CHUNK.split(text):
        # only mixed case is split: "p99" and "5xx" are one word each, "HighErrorRate" is three
        parts = _CAMEL_PART.findall(chunk) if chunk != chunk.lower() else [chunk]
        for part in parts:
            token = normalize(part)
            if token is not None:
                result.append(token)
    return tuple(result)


@functools.lru_cache(maxsize=16_384)
def label_value(value: str) -> str | None:
    """A label value with replica numbers blanked ("web-12" -> "web-#"); None when only an id or an
    address is left, which would make unrelated incidents look alike."""
    kept: list[str] = []
    for part in _CHUNK.split(value.lower()):
        if not part or (len(part) >= 4 and _HEX.fullmatch(part) and not part.isalpha()):
            continue
        kept.append(_DIGITS.sub("#", part))
    joined = "-".join(kept)
    return joined if any(ch.isalpha() for ch in joined) else None
