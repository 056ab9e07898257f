"""The transactional outbox: outbound side effects written in the transaction that decides them.

A row is one thing to deliver (post or update a card, reply in a thread, send a PagerDuty event).
Callers enqueue inside their own transaction, so a decision and its notification land together or
not at all; `engine.outbox.OutboxWorker` delivers them later, at least once, and the deliverers make
a second delivery harmless (idempotency keys, update instead of a second post).

Two ways to enqueue, chosen by the caller:
- `replace=False` (events: a timeline reply, a PagerDuty trigger): a key already queued or sent is
  left alone, so retries of the deciding transaction never queue twice.
- `replace=True` (state: "redraw the card of incident 7"): the row is put back to pending with the
  new payload, so a flood of changes coalesces into one delivery of the latest state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage.schema import outbox
from engine.storage.upsert import dialect_insert

PENDING = "pending"
SENT = "sent"
DEAD = "dead"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    destination: str
    kind: str
    key: str
    incident_id: int | None
    payload: dict[str, Any]
    attempts: int
    """Deliveries tried before this one (0 on the first)."""
    created_at: datetime
    """When the current payload was queued; `replace` moves it, which is how a delivery that raced a
    newer payload notices and leaves the row pending."""
    leased_until: datetime | None = None
    """This worker's lease, as written in `next_attempt_at` when it claimed (or renewed) the row; a
    different value there means the row is no longer this worker's to deliver."""


async def enqueue(
    conn: AsyncConnection,
    *,
    destination: str,
    kind: str,
    key: str,
    payload: dict[str, Any],
    now: datetime,
    incident_id: int | None = None,
    replace: bool = False,
    not_before: datetime | None = None,
) -> None:
    values = {
        "destination": destination,
        "kind": kind,
        "idempotency_key": key,
        "incident_id": incident_id,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }
    statement = dialect_insert(conn, outbox).values(**values)
    if replace:
        refreshed: dict[str, Any] = {
            name: statement.excluded[name]
            for name in ("payload", "status", "attempts", "last_error", "created_at")
        }
        # never cut a lease short (another replica may be posting this very card right now) nor a
        # wait a receiver asked for (429): the newer payload goes out when those are over
        refreshed["next_attempt_at"] = case(
            (
                and_(
                    outbox.c.status == PENDING, outbox.c.next_attempt_at > statement.excluded.next_attempt_at
                ),
                outbox.c.next_attempt_at,
            ),
            else_=statement.excluded.next_attempt_at,
        )
        statement = statement.on_conflict_do_update(index_elements=["idempotency_key"], set_=refreshed)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["idempotency_key"])
    await conn.execute(statement)


_CLAIM_LOCK_KEY = 0x6E6F63_0003  # beside writer_turns' and leadership's keys


async def claim_due(
    conn: AsyncConnection, now: datetime, *, lease: timedelta, limit: int, destinations: Sequence[str]
) -> list[OutboxItem]:
    """Pending rows due by `now`, oldest first, leased for `lease`: another worker (another
    replica) skips them until the lease runs out, which is also what retries them after a crash.

    A row waits while an earlier row of its incident and destination is pending but not due (backing
    off after a failure, holding for a 429, leased by a worker delivering it): rows queued later
    would otherwise overtake it — a PagerDuty resolve sent before its trigger, a thread reply before
    the one before it. The worker keeps the order among the rows it claims together.

    On PostgreSQL claims take turns (a transaction-scoped advisory lock): a claim running beside
    another would skip the rows that one has locked but still read their old `next_attempt_at`,
    so it would take an incident's next row while its earlier one is being claimed elsewhere."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(_CLAIM_LOCK_KEY)))
    earlier = outbox.alias("earlier")
    waits_for_earlier = (
        select(earlier.c.id)
        .where(
            earlier.c.destination == outbox.c.destination,
            earlier.c.incident_id == outbox.c.incident_id,
            earlier.c.id < outbox.c.id,
            earlier.c.status == PENDING,
            earlier.c.next_attempt_at > now,
        )
        .exists()
    )
    query = (
        select(outbox)
        .where(
            outbox.c.status == PENDING,
            outbox.c.next_attempt_at <= now,
            outbox.c.destination.in_(list(destinations)),
            ~waits_for_earlier,
        )
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = (await conn.execute(query)).mappings().all()
    if not rows:
        return []
    await conn.execute(
        update(outbox)
        .where(outbox.c.id.in_([row["id"] for row in rows]))
        .values(next_attempt_at=now + lease, attempts=outbox.c.attempts + 1)
    )
    return [
        OutboxItem(
            id=row["id"],
            destination=row["destination"],
            kind=row["kind"],
            key=row["idempotency_key"],
            incident_id=row["incident_id"],
            payload=dict(row["payload"]),
            attempts=row["attempts"],
            created_at=row["created_at"],
            leased_until=now + lease,
        )
        for row in rows
    ]


async def renew_lease(
    conn: AsyncConnection, item: OutboxItem, now: datetime, lease: timedelta
) -> OutboxItem | None:
    """Just before delivering a claimed row: a full lease from now, if the row is still this
    worker's. None when it is not: the rows of a batch are delivered one after another (a busy
    Slack channel takes one call a second), so a row's lease can run out before its turn, and
    another worker may have claimed and delivered it meanwhile; delivering it too would post twice.
    A `replace` during the lease keeps `next_attempt_at` (see `enqueue`), so it does not count as
    losing the row; `mark_sent` deals with the newer payload."""
    until = now + lease
    result = await conn.execute(
        update(outbox)
        .where(
            outbox.c.id == item.id,
            outbox.c.status == PENDING,
            outbox.c.next_attempt_at == item.leased_until,
        )
        .values(next_attempt_at=until)
    )
    return dataclasses.replace(item, leased_until=until) if result.rowcount else None


async def mark_sent(conn: AsyncConnection, item: OutboxItem, now: datetime) -> bool:
    """False when the row was replaced while it was being delivered: it stays pending for the
    newer payload, due now that this delivery's lease is over."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id == item.id, outbox.c.created_at == item.created_at)
        .values(status=SENT, sent_at=now, last_error=None)
    )
    if result.rowcount:
        return True
    await _release(conn, item, now)
    return False


async def _release(conn: AsyncConnection, item: OutboxItem, at: datetime) -> None:
    """End this delivery's lease on a row that was replaced meanwhile."""
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == item.id, outbox.c.created_at != item.created_at, outbox.c.status == PENDING)
        .values(next_attempt_at=at)
    )


async def retry_later(conn: AsyncConnection, item: OutboxItem, at: datetime, error: str) -> None:
    """The receiver's wait holds for a newer payload of the same row too."""
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == item.id, outbox.c.status == PENDING)
        .values(next_attempt_at=at, last_error=error[:2000])
    )


async def mark_dead(conn: AsyncConnection, item: OutboxItem, now: datetime, error: str) -> None:
    """Refused for good; a newer payload queued meanwhile still gets its own try."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id == item.id, outbox.c.created_at == item.created_at)
        .values(status=DEAD, last_error=error[:2000], sent_at=now)
    )
    if not result.rowcount:
        await _release(conn, item, now)


@dataclass(frozen=True, slots=True)
class OutboxHealth:
    pending: int
    dead: int
    oldest_pending: datetime | None


async def health(conn: AsyncConnection) -> OutboxHealth:
    pending, oldest = (
        await conn.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.status == PENDING)
        )
    ).one()
    dead = (await conn.execute(select(func.count()).where(outbox.c.status == DEAD))).scalar_one()
    return OutboxHealth(int(pending), int(dead), oldest)


async def items_for(conn: AsyncConnection, incident_id: int) -> list[dict[str, Any]]:
    """Every row of an incident, for tests and the console's delivery view."""
    rows = await conn.execute(select(outbox).where(outbox.c.incident_id == incident_id).order_by(outbox.c.id))
    return [dict(row) for row in rows.mappings()]
