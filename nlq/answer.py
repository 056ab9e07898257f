"""`answer()`: a question in, an answer out — the one entry point the CLI and chat surfaces call.

It reads the vocabulary and the rollup watermarks, parses and compiles (pure), then runs the one
SELECT read-only, with a timeout and a row limit. A question it cannot answer raises CannotAnswer
with a reason and questions to try; nothing else from here reaches a user as a stack trace.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Dialect, Select, func, select
from sqlalchemy.engine import Compiled
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.rollup.levels import RollupConfig, ms
from engine.rollup.plan import Availability
from engine.storage.rollup_rows import read_watermarks
from nlq.compile import Context, Limits, compile_question
from nlq.errors import CannotAnswer
from nlq.finish import finish
from nlq.lexicon import Lexicon
from nlq.parser import parse
from nlq.sentence import sentence
from nlq.sources import load_vocabulary

DEFAULT_LIMITS = Limits()
DEFAULT_ROLLUPS = RollupConfig()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # one sentence for people
    start: datetime  # the range the data covers, in the team's time zone
    end: datetime
    resolution: str  # rollup levels used, coarsest first ("1d+1h+raw"); "exact" for incidents
    columns: list[str]
    rows: list[list[Any]]
    statement: Select[Any] = field(repr=False, compare=False)
    dialect: Dialect = field(repr=False, compare=False)

    @property
    def sql(self) -> str:
        """The SQL as sent, with placeholders (IN lists expanded); rendered on demand."""
        return str(self._rendered())

    @property
    def params(self) -> dict[str, Any]:
        """The bound parameters of `sql`, as JSON values."""
        return {name: _json_value(value) for name, value in self._rendered().params.items()}

    def to_json(self) -> dict[str, Any]:
        rendered = self._rendered()
        return {
            "question": self.question,
            "answer": self.text,
            "time_range": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "resolution": self.resolution,
            "sql": str(rendered),
            "params": {name: _json_value(value) for name, value in rendered.params.items()},
            "columns": self.columns,
            "rows": self.rows,
        }

    def _rendered(self) -> Compiled:
        return self.statement.compile(dialect=self.dialect, compile_kwargs={"render_postcompile": True})


async def answer(
    question: str,
    db: AsyncEngine | AsyncConnection,
    now: datetime,
    timezone: str = "UTC",
    *,
    synonyms: Mapping[str, str] | None = None,
    lexicon: Lexicon | None = None,
    limits: Limits = DEFAULT_LIMITS,
    rollups: RollupConfig = DEFAULT_ROLLUPS,
) -> Answer:
    """Answer `question` as of `now` in `timezone` (an IANA name, e.g. the settings' timezone).

    `synonyms` (phrase → metric, from a metric catalog) extend the vocabulary; a caller answering
    many questions may pass a `lexicon` it built once instead.
    """
    tz = ZoneInfo(timezone)
    async with _read_only(db, limits.timeout_s) as conn:
        if lexicon is None:
            lexicon = Lexicon(await load_vocabulary(conn, synonyms))
        watermarks = await read_watermarks(conn)
        parsed = parse(question, lexicon)
        now_ms = (now - _EPOCH) // timedelta(milliseconds=1)
        available = Availability.at(now_ms, rollups.retention, ms(rollups.lateness), watermarks)
        compiled = compile_question(parsed, Context(now, tz, available, limits))
        rows = await _fetch(conn, compiled.statement, limits.timeout_s)
    columns, table = finish(compiled, rows, limits.max_scanned_rows)
    return Answer(
        question=question,
        text=sentence(compiled, columns, table),
        start=compiled.time_range.start.astimezone(tz),
        end=compiled.time_range.end.astimezone(tz),
        resolution=compiled.resolution,
        columns=columns,
        rows=table,
        statement=compiled.statement,
        dialect=conn.dialect,
    )


@asynccontextmanager
async def _read_only(db: AsyncEngine | AsyncConnection, timeout_s: float) -> AsyncIterator[AsyncConnection]:
    """A connection in a read-only transaction that is rolled back: questions never write."""
    if isinstance(db, AsyncEngine):
        async with db.connect() as conn, _read_only(conn, timeout_s) as inner:
            yield inner
        return
    if db.in_transaction():
        yield db  # the caller's transaction: compiled SELECTs are all that run in it
        return
    transaction = await db.begin()
    try:
        if db.dialect.name == "postgresql":
            timeout_ms = str(max(1, int(timeout_s * 1000)))  # 0 would mean "no timeout"
            # both for this transaction only, in one round trip
            await db.execute(
                select(
                    func.set_config("transaction_read_only", "on", True),
                    func.set_config("statement_timeout", timeout_ms, True),
                )
            )
        else:
            await db.exec_driver_sql("PRAGMA query_only = ON")
        yield db
    finally:
        await transaction.rollback()
        if db.dialect.name != "postgresql":
            # per connection, not per transaction: the pooled connection must write again later
            await db.exec_driver_sql("PRAGMA query_only = OFF")
            await db.commit()


async def _fetch(conn: AsyncConnection, statement: Select[Any], timeout_s: float) -> Sequence[Sequence[Any]]:
    try:
        if conn.dialect.name == "postgresql":
            rows: Sequence[Sequence[Any]] = (await conn.execute(statement)).all()
            return rows
        return await _fetch_sqlite(conn, statement, timeout_s)
    except DBAPIError as exc:
        reason = str(exc.orig or exc).lower()
        if "cancel" in reason or "interrupt" in reason or "timeout" in reason:
            raise CannotAnswer(
                f"That question took longer than {timeout_s:g} s; ask about less time or fewer series."
            ) from None
        raise


async def _fetch_sqlite(
    conn: AsyncConnection, statement: Select[Any], timeout_s: float
) -> Sequence[Sequence[Any]]:
    """SQLite has no statement timeout: a progress handler interrupts the query at the deadline."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    deadline = time.monotonic() + timeout_s
    await driver.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
    try:
        rows: Sequence[Sequence[Any]] = (await conn.execute(statement)).all()
        return rows
    finally:
        await driver.set_progress_handler(None, 0)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value
