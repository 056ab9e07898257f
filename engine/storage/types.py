"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Dialect
from sqlalchemy.types import TypeDecorator

from engine.models import utc


class Instant(TypeDecorator[datetime]):
    """An instant stored as integer epoch microseconds, read back as an aware UTC datetime.

    Microseconds are exactly Python's precision, so what is read back equals what was written.

    Integers compare, index and bucket identically on both databases (SQLite has no time type), and
    questions can group by hour or day with plain arithmetic.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return to_epoch_us(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return from_epoch_us(int(value))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch_us(value: datetime) -> int:
    # integer arithmetic on the timedelta: float seconds would lose microseconds after 2^53
    delta = utc(value) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)
