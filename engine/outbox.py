"""Delivers what the outbox holds: at least once, in order per incident, never dropped.

The worker claims due rows (a lease: `SKIP LOCKED` on PostgreSQL, so replicas share the work without
taking the same row), hands each to the `Deliverer` of its destination and records the result. Each
row's lease is renewed just before its delivery: a batch can outlast the lease it was claimed with,
and a row another worker took meanwhile is left to that worker. A deliverer makes a repeated
delivery harmless (idempotency keys; a card already posted is updated, not posted again), which is
what turns "at least once" into "exactly once" on the receiver.

Failures: `RetryLater` (a 429, a card not posted yet) waits as told; `Undeliverable` (the channel no
longer exists, the payload is refused for good) parks the row as dead, visible in health; any other
exception is treated as transient and retried with capped exponential backoff, forever — an alert
that is late is bad, one that is dropped is worse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from engine.clock import Clock
from engine.storage import outbox_rows
from engine.storage.outbox_rows import OutboxItem
from engine.storage.store import Store
from engine.timeline import CARD

log = logging.getLogger("nocbot.outbox")


class RetryLater(Exception):
    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {seconds:.1f}s")
        self.seconds = seconds


class Undeliverable(Exception):
    """The destination refused this for good; retrying cannot help."""


class Deliverer(Protocol):
    async def deliver(self, item: OutboxItem) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    lease: timedelta = timedelta(seconds=60)
    batch: int = 100
    poll_seconds: float = 1.0
    first_backoff: float = 1.0
    max_backoff: float = 300.0
    incidents_at_once: int = 8

    def backoff(self, attempts: int, rng: random.Random) -> float:
        ceiling: float = min(self.max_backoff, self.first_backoff * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + rng.random() * ceiling / 2


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        deliverers: Mapping[str, Deliverer],
        policy: OutboxPolicy | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.deliverers = dict(deliverers)
        self.policy = policy or OutboxPolicy()
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self.delivered = 0
        self.failures = 0

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                busy = await self.deliver_due()
            except Exception:
                log.exception("outbox pass failed")
                busy = 0
            if busy:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                waiting = asyncio.ensure_future(self._wake.wait())
                stopping = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait(
                        {waiting, stopping},
                        timeout=self.policy.poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    waiting.cancel()
                    stopping.cancel()

    async def deliver_due(self) -> int:
        """One pass over what is due; returns how many rows were handled (delivered or not)."""
        if not self.deliverers:
            return 0
        now = self.clock.now()
        async with self.store.transaction() as conn:
            items = await outbox_rows.claim_due(
                conn,
                now,
                lease=self.policy.lease,
                limit=self.policy.batch,
                destinations=sorted(self.deliverers),
            )
        if not items:
            return 0
        lanes: dict[object, list[OutboxItem]] = {}
        for item in items:
            # one lane per incident and destination: in order there, in parallel elsewhere
            lane = (item.destination, item.incident_id) if item.incident_id is not None else item.id
            lanes.setdefault(lane, []).append(item)
        for lane_items in lanes.values():
            # a card shows the latest state whenever it is drawn, and replies need it posted first
            lane_items.sort(key=lambda item: (item.kind != CARD, item.id))
        gate = asyncio.Semaphore(self.policy.incidents_at_once)

        async def run_lane(lane: list[OutboxItem]) -> None:
            async with gate:
                await self._deliver_lane(lane)

        await asyncio.gather(*(run_lane(lane) for lane in lanes.values()))
        return len(items)

    async def _deliver_lane(self, lane: list[OutboxItem]) -> None:
        for position, claimed in enumerate(lane):
            async with self.store.transaction() as conn:
                item = await outbox_rows.renew_lease(conn, claimed, self.clock.now(), self.policy.lease)
            if item is None:
                # its lease ran out while the rows before it went out, and another worker took it;
                # the rest were claimed with the same lease: all of it goes out from there, in order
                return
            delay = await self._deliver(item)
            if delay is not None:
                # keep the order: what comes after a failed item waits for it
                later = self.clock.now() + timedelta(seconds=delay)
                async with self.store.transaction() as conn:
                    for rest in lane[position + 1 :]:
                        await outbox_rows.retry_later(conn, rest, later, "waiting for an earlier delivery")
                return

    async def _deliver(self, item: OutboxItem) -> float | None:
        """None when done with the item; otherwise the seconds until it is tried again."""
        deliverer = self.deliverers[item.destination]
        try:
            await deliverer.deliver(item)
        except RetryLater as exc:
            return await self._postpone(item, exc.seconds, str(exc))
        except Undeliverable as exc:
            log.error("outbox item undeliverable", extra={"key": item.key, "error": str(exc)[:300]})
            async with self.store.transaction() as conn:
                await outbox_rows.mark_dead(conn, item, self.clock.now(), str(exc))
            return None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            delay = self.policy.backoff(item.attempts + 1, self._rng)
            log.warning(
                "outbox delivery failed",
                extra={"key": item.key, "attempt": item.attempts + 1, "error": repr(exc)[:300]},
            )
            return await self._postpone(item, delay, repr(exc))
        async with self.store.transaction() as conn:
            await outbox_rows.mark_sent(conn, item, self.clock.now())
        self.delivered += 1
        return None

    async def _postpone(self, item: OutboxItem, seconds: float, error: str) -> float:
        async with self.store.transaction() as conn:
            await outbox_rows.retry_later(conn, item, self.clock.now() + timedelta(seconds=seconds), error)
        return seconds
