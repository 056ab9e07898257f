"""The points hot path's pure parts: millisecond stamps, the binary COPY payload, the series cache."""

from __future__ import annotations

import random
import struct
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.ext.asyncio import create_async_engine

from engine.models import SeriesRef
from engine.storage import point_copy
from engine.storage.metric_rows import SeriesIds, epoch_ms
from engine.storage.schema import metadata, metric_series

NOW = datetime(2026, 11, 11, tzinfo=UTC)


def test_epoch_ms_rounds_as_round_does() -> None:
    rng = random.Random(3)
    stamps: list[float] = [rng.uniform(0, 32_503_680_000) for _ in range(20_000)]
    stamps += [1794394800, 1794394800.0005, 1794394800.0015, 0.0005, 12.3456789, 1e-9]
    stamps += [rng.randrange(0, 32_503_680_000) + rng.randrange(1000) / 1000 + 0.0005 for _ in range(5_000)]
    assert epoch_ms(stamps).tolist() == [round(t * 1000) for t in stamps]


def test_copy_payload_is_postgres_binary_copy() -> None:
    ids = np.array([1, 2**40, 7], dtype=np.int64)
    stamps = np.array([1794394800000, -1, 0], dtype=np.int64)
    values = [1.5, -0.0, float("inf")]
    payload = point_copy.encode(ids, stamps, values)
    assert payload[:11] == b"PGCOPY\n\xff\r\n\x00"
    assert struct.unpack("!ii", payload[11:19]) == (0, 0)
    assert payload[-2:] == struct.pack("!h", -1)
    body = payload[19:-2]
    assert len(body) == 3 * 38
    rows = [struct.unpack("!hiqiqid", body[i * 38 : (i + 1) * 38]) for i in range(3)]
    assert rows == [
        (3, 8, s, 8, t, 8, v) for s, t, v in zip(ids.tolist(), stamps.tolist(), values, strict=True)
    ]
    # what PostgreSQL sends back has the same layout: the rollup reads it with `decode`
    decoded = point_copy.decode(payload)
    assert [column.tolist() for column in decoded] == [ids.tolist(), stamps.tolist(), values]


async def test_series_ids_are_remembered_by_key_and_by_object() -> None:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=[metric_series])
    series = SeriesIds()
    a, b = SeriesRef("m", {"host": "a"}), SeriesRef("m", {"host": "b"})
    assert series.known([a]) is None
    async with engine.begin() as conn:
        ids = await series.resolve(conn, [a, b], NOW)
    assert len(set(ids)) == 2
    assert series.known([b, a]) == [ids[1], ids[0]]
    twin = SeriesRef("m", {"host": "a"})  # equal, another object: found by key, no new row
    assert series.known([twin]) is None
    async with engine.begin() as conn:
        assert await series.resolve(conn, [twin, a], NOW) == [ids[0], ids[0]]
    series.forget()
    assert series.known([a]) is None
    async with engine.begin() as conn:
        assert await series.resolve(conn, [b, a], NOW) == [ids[1], ids[0]]  # found again in the table
    await engine.dispose()
