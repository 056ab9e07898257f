"""One deciding writer at a time across replicas, and a way to know whether another one decided.

The correlator is a state machine in memory; several replicas on one PostgreSQL each hold a copy.
Before deciding, a replica takes the turn: one UPDATE moves the turn counter and returns it, and its
row lock, held until commit or rollback (also when the connection dies), keeps every other replica
waiting. If the counter is not where this replica left it, another one decided since, and the copy
in memory is rebuilt from the database first. On SQLite one process writes at a time
anyway; the counter still works there.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage.schema import writer_turns
from engine.storage.upsert import insert_ignoring_conflicts


async def take(conn: AsyncConnection, name: str) -> int:
    """Take the turn of `name` and move its counter on, in one statement; returns the counter as it
    was (what this replica must have seen to decide with a current memory).

    The UPDATE's row lock is the turn: a replica holding it makes the next one wait until it
    commits or rolls back, and PostgreSQL then re-reads the row, so the value returned is the one
    the previous holder left. Rolled back, the move is undone with everything else.
    """
    moved = (
        update(writer_turns)
        .where(writer_turns.c.name == name)
        .values(epoch=writer_turns.c.epoch + 1)
        .returning(writer_turns.c.epoch)
    )
    epoch = await conn.scalar(moved)
    if epoch is None:  # the first turn ever
        await conn.execute(insert_ignoring_conflicts(conn, writer_turns, ["name"]).values(name=name, epoch=0))
        epoch = await conn.scalar(moved)
    return int(epoch) - 1


async def current(conn: AsyncConnection, name: str) -> int:
    epoch = await conn.scalar(select(writer_turns.c.epoch).where(writer_turns.c.name == name))
    return int(epoch) if epoch is not None else 0
