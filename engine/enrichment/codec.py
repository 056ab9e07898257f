"""Frozen dataclasses to JSON-ready values and back, driven by their type hints.

The enrichment is stored in a JSON column and read back by other processes (the web console, chat
renderers), so every field round-trips: datetimes as ISO 8601 UTC strings, tuples as lists. Decoding
checks types field by field, so a damaged or foreign document is refused with the path of the bad
field instead of producing half-built sections.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.models import utc


class EncodingError(ValueError):
    """A value cannot be stored as JSON, or a stored document does not fit the dataclass."""


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        # PostgreSQL's jsonb rejects NaN and infinities outright
        raise EncodingError(f"cannot store the non-finite number {value} as JSON")
    return value


def decode(cls: type[Any], raw: Any, path: str = "$") -> Any:
    return _decode(cls, raw, path)


def _decode(hint: Any, raw: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if raw is None:
            if len(options) < len(typing.get_args(hint)):
                return None
            raise EncodingError(f"{path}: missing value")
        if len(options) != 1:
            raise EncodingError(f"{path}: cannot decode the union {hint}")
        return _decode(options[0], raw, path)
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        _expect(raw, list, path)
        return tuple(_decode(item_hint, item, f"{path}[{i}]") for i, item in enumerate(raw))
    if origin is dict or origin is Mapping:
        value_hint = typing.get_args(hint)[1]
        _expect(raw, dict, path)
        return {str(key): _decode(value_hint, item, f"{path}.{key}") for key, item in raw.items()}
    if hint is datetime:
        _expect(raw, str, path)
        try:
            return utc(datetime.fromisoformat(raw))
        except ValueError:
            raise EncodingError(f"{path}: not an ISO 8601 time: {raw!r}") from None
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise EncodingError(f"{path}: expected a number, got {type(raw).__name__}")
        return float(raw)
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise EncodingError(f"{path}: expected a whole number, got {type(raw).__name__}")
        return raw
    if hint is str or hint is bool:
        _expect(raw, hint, path)
        return raw
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, raw, path)
    raise EncodingError(f"{path}: no decoder for {hint!r}")


def _decode_dataclass(cls: type[Any], raw: Any, path: str) -> Any:
    _expect(raw, dict, path)
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in raw:
            values[f.name] = _decode(hints[f.name], raw[f.name], f"{path}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise EncodingError(f"{path}: missing field {f.name!r}")
    return cls(**values)


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _expect(raw: Any, kind: type[Any], path: str) -> None:
    if not isinstance(raw, kind) or (kind is not bool and isinstance(raw, bool)):
        raise EncodingError(f"{path}: expected {kind.__name__}, got {type(raw).__name__}")
