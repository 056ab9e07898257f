"""Incident ids handed to the clustering engine, reserved ahead from the database.

The engine allocates ids synchronously while it decides; reserving blocks from the database's own
counter (a sequence on PostgreSQL, `sqlite_sequence` on SQLite) makes those the real row ids, unique
across replicas and importers, so an explanation's "#12" is the incident people see.
"""

from __future__ import annotations

from collections import deque

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

BLOCK = 64


class ReservedIds:
    """`IncidentIdAllocator` over ids reserved with `refill`; it never hands out an id twice."""

    def __init__(self) -> None:
        self._pool: deque[int] = deque()

    def allocate(self) -> int:
        if not self._pool:
            raise RuntimeError("no incident id reserved: call refill() before deciding on a batch")
        return self._pool.popleft()

    def reserve(self, incident_id: int) -> None:
        """Restored incidents already have their ids; the database counter is past them."""

    def available(self) -> int:
        return len(self._pool)

    async def refill(self, conn: AsyncConnection, needed: int) -> None:
        """Make sure at least `needed` ids are on hand (each new alert may open an incident)."""
        if len(self._pool) >= needed:
            return
        count = max(BLOCK, needed - len(self._pool))
        self._pool.extend(await reserve_ids(conn, count))

    def forget(self) -> None:
        """Drop reserved ids (after a rollback on SQLite they return to the counter)."""
        self._pool.clear()


async def reserve_ids(conn: AsyncConnection, count: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        rows = await conn.execute(
            text("SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        )
        return [int(row[0]) for row in rows]
    await conn.execute(
        text(
            "INSERT INTO sqlite_sequence (name, seq) "
            "SELECT 'incidents', COALESCE((SELECT MAX(id) FROM incidents), 0) "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'incidents')"
        )
    )
    top = (
        await conn.execute(
            text("UPDATE sqlite_sequence SET seq = seq + :n WHERE name = 'incidents' RETURNING seq"),
            {"n": count},
        )
    ).scalar_one()
    return list(range(int(top) - count + 1, int(top) + 1))
