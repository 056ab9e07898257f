"""One deciding writer at a time across replicas, and a way to know whether another one decided.

The correlator is a state machine in memory; several replicas on one PostgreSQL each hold a copy.
Before deciding, a replica takes the turn (a transaction-scoped advisory lock, released at commit or
rollback, also when the connection dies) and reads the turn counter: if another replica moved it
since this one last decided, the copy in memory is out of date and is rebuilt from the database
first. Deciding moves the counter in the same transaction. On SQLite one process writes at a time
anyway; the counter still works there.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage.schema import writer_turns
from engine.storage.upsert import insert_ignoring_conflicts

# pg_advisory_xact_lock keys: one per kind of deciding writer
_LOCK_KEYS = {"correlator": 0x6E6F63_0001}


async def take(conn: AsyncConnection, name: str) -> int:
    """Wait for the turn of `name` (PostgreSQL) and return its counter."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEYS[name])))
    return await current(conn, name)


async def current(conn: AsyncConnection, name: str) -> int:
    epoch = await conn.scalar(select(writer_turns.c.epoch).where(writer_turns.c.name == name))
    return int(epoch) if epoch is not None else 0


async def advance(conn: AsyncConnection, name: str, epoch: int) -> int:
    """Move the counter on from `epoch` (what `take` returned); returns the new value."""
    if epoch == 0:
        await conn.execute(insert_ignoring_conflicts(conn, writer_turns, ["name"]).values(name=name, epoch=0))
    await conn.execute(update(writer_turns).where(writer_turns.c.name == name).values(epoch=epoch + 1))
    return epoch + 1
