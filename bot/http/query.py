"""Query-string parameters of the read API, validated into typed values (400 naming the parameter)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from integrations.payload import PayloadError, parse_iso


def choice(params: Mapping[str, str], name: str, allowed: Collection[str]) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise PayloadError(name, f"must be one of {', '.join(sorted(allowed))}")
    return value


def text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > 200:
        raise PayloadError(name, "longer than 200 characters")
    return value


def moment(params: Mapping[str, str], name: str) -> datetime | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    parsed = parse_iso(value)
    if parsed is None:
        raise PayloadError(name, f"not an ISO 8601 time: {value[:64]!r}")
    return parsed


def integer(params: Mapping[str, str], name: str, *, default: int | None, low: int, high: int) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise PayloadError(name, "must be a whole number") from None
    if not low <= number <= high:
        raise PayloadError(name, f"must be between {low} and {high}")
    return number
