"""Which replica decides: the one holding a session advisory lock on PostgreSQL.

Being the decider is a matter of speed, not of correctness: every decision still takes the writer
turn (`writer_turns`), so two replicas that both believe they lead for a moment are serialized and
the second one catches up. What leading buys is that only one correlator decides, so it never has
to catch up with another one, which costs a rebuild from the database each time.

The lock lives on a connection of its own, held for as long as the replica leads: if the process
dies, PostgreSQL ends the session and the lock with it, and another replica takes over at its next
try. On SQLite there is one writing process; it always leads.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

_LOCK_KEY = 0x6E6F63_0002  # beside writer_turns' keys


class Leadership:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self.leading = engine.dialect.name != "postgresql"

    async def refresh(self) -> bool:
        """Check the held lock is still there, or try to take it; returns whether this replica leads."""
        if self._engine.dialect.name != "postgresql":
            return True
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))
                # never leave it idle in a transaction: an old snapshot held for hours keeps
                # PostgreSQL from vacuuming the busy tables (outbox, queues)
                await self._conn.commit()
                return True
            except Exception:
                log.warning("lost the connection holding the decider lock")
                await self._drop()
        try:
            conn = await self._engine.connect()
        except Exception:
            return False
        try:
            taken = bool(await conn.scalar(select(func.pg_try_advisory_lock(_LOCK_KEY))))
            # autobegin opened a transaction: end it, the session lock outlives it
            await conn.commit()
        except Exception:
            with contextlib.suppress(Exception):
                await conn.close()
            return False
        if not taken:
            await conn.close()
            self.leading = False
            return False
        self._conn = conn
        self.leading = True
        log.info("this replica decides now")
        return True

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(select(func.pg_advisory_unlock(_LOCK_KEY)))
                await self._conn.commit()
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.leading = self._engine.dialect.name != "postgresql"
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
