"""A question that runs too long is stopped by the database and refused, on both backends."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, literal, select

from engine.storage.database import open_engine
from nlq.answer import _fetch, _read_only
from nlq.errors import CannotAnswer


async def test_a_slow_query_is_stopped_at_the_timeout(database_url: str) -> None:
    engine = open_engine(database_url)
    if engine.dialect.name == "postgresql":
        slow = select(func.pg_sleep(5))
    else:
        counter = select(literal(1).label("x")).cte("counter", recursive=True)
        counter = counter.union_all(select(counter.c.x + 1).where(counter.c.x < 100_000_000))
        slow = select(func.count()).select_from(counter)
    began = time.monotonic()
    try:
        async with _read_only(engine, 0.2) as conn:
            with pytest.raises(CannotAnswer, match=r"longer than 0\.2 s"):
                await _fetch(conn, slow, 0.2)
        # the connection is usable again afterwards (and writable: the pool hands it on)
        async with engine.begin() as conn:
            assert await conn.scalar(select(literal(1))) == 1
    finally:
        await engine.dispose()
    assert time.monotonic() - began < 4
