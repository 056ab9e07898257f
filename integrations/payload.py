"""Reading untrusted JSON: typed accessors that fail with the path of the offending field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

# PostgreSQL stores no NUL character in text or JSON; refuse it at the edge rather than fail later
NUL_MESSAGE = "must not contain NUL characters"


class PayloadError(ValueError):
    """The request body is not what the endpoint accepts; `field` is a JSON path such as alerts[3].labels."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def loads_json(body: bytes) -> Any:
    """A request body as JSON (strict: no NaN, no trailing data); PayloadError says why not."""
    if not body:
        raise PayloadError("body", "empty request body; expected JSON")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError("body", f"invalid JSON: {exc}") from None


def expect_object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(field, f"expected an object, got {type_name(value)}")
    return value


def expect_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError(field, f"expected a list, got {type_name(value)}")
    return value


def required(doc: Mapping[str, Any], key: str, field: str) -> Any:
    if key not in doc or doc[key] is None:
        raise PayloadError(join(field, key), "is required")
    return doc[key]


def text(doc: Mapping[str, Any], key: str, field: str, *, max_length: int = 10_000) -> str:
    value = required(doc, key, field)
    return check_text(value, join(field, key), max_length=max_length)


def optional_text(doc: Mapping[str, Any], key: str, field: str, *, max_length: int = 10_000) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    return check_text(value, join(field, key), max_length=max_length, allow_empty=True)


def check_text(value: Any, field: str, *, max_length: int = 10_000, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise PayloadError(field, f"expected a string, got {type_name(value)}")
    if not allow_empty and not value.strip():
        raise PayloadError(field, "must not be empty")
    if "\x00" in value:
        raise PayloadError(field, NUL_MESSAGE)
    if len(value) > max_length:
        raise PayloadError(field, f"longer than {max_length} characters")
    return value


def string_map(doc: Mapping[str, Any], key: str, field: str, *, required_key: bool = False) -> dict[str, str]:
    """A mapping of string to string (labels, annotations); absent means empty unless required."""
    value = doc.get(key)
    if value is None:
        if required_key:
            raise PayloadError(join(field, key), "is required")
        return {}
    if not isinstance(value, dict):
        raise PayloadError(join(field, key), f"expected an object of strings, got {type_name(value)}")
    for name, item in value.items():
        # error paths are built only on failure: this runs for every label of every alert
        if item.__class__ is not str:
            raise PayloadError(f"{join(field, key)}.{name}", f"expected a string, got {type_name(item)}")
        if len(name) > 200 or len(item) > 10_000:
            raise PayloadError(f"{join(field, key)}.{name}", "too long")
        if "\x00" in item or "\x00" in name:
            raise PayloadError(f"{join(field, key)}.{name}", NUL_MESSAGE)
    return dict(value)


def number(value: Any, field: str) -> float:
    # bool is an int in Python but never a measurement
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(field, f"expected a number, got {type_name(value)}")
    try:
        result = float(value)
    except OverflowError:
        raise PayloadError(field, "number too large") from None
    if not math.isfinite(result):
        raise PayloadError(field, "must be a finite number")
    return result


def timestamp_of(doc: Mapping[str, Any], key: str, field: str) -> datetime:
    """`timestamp` of a required key, naming `field.key` only if it fails."""
    value = doc.get(key)
    if value is None:
        raise PayloadError(join(field, key), "is required")
    if value.__class__ is str:
        parsed = parse_iso(value)
        if parsed is not None:
            return parsed
    return timestamp(value, join(field, key))


def timestamp(value: Any, field: str) -> datetime:
    """ISO 8601 (with zone, or UTC when none) or epoch seconds."""
    if isinstance(value, bool):
        raise PayloadError(field, "expected an ISO 8601 time or epoch seconds, got a boolean")
    if isinstance(value, int | float):
        return epoch_seconds(float(value), field)
    if isinstance(value, str):
        parsed = parse_iso(value)
        if parsed is None:
            raise PayloadError(field, f"not an ISO 8601 time: {value[:64]!r}")
        return parsed
    raise PayloadError(field, f"expected an ISO 8601 time or epoch seconds, got {type_name(value)}")


def epoch_seconds(value: float, field: str) -> datetime:
    # year 1970..2999: anything else is a unit mistake (milliseconds) or garbage
    if not math.isfinite(value) or not 0 <= value < 32_503_680_000:
        raise PayloadError(field, f"epoch seconds out of range: {value!r}")
    return datetime.fromtimestamp(value, tz=UTC)


def parse_iso(raw: str) -> datetime | None:
    text_value = raw.strip()
    if not text_value:
        return None
    if text_value.endswith(("Z", "z")):
        text_value = text_value[:-1] + "+00:00"
    # Go (Alertmanager) writes nanoseconds; Python takes at most microseconds
    if "." in text_value:
        head, _, tail = text_value.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        if digits > 6:
            text_value = head + "." + tail[:6] + tail[digits:]
    try:
        parsed = datetime.fromisoformat(text_value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first instant a datetime holds
        return None


def join(field: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{field}[{key}]"
    return f"{field}.{key}" if field else key


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
