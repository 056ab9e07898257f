"""The lease loop that splits metric series between replicas, so each series is detected once.

Every few seconds a replica says it is alive, renews its partition leases and takes free or lapsed
ones up to its share (partitions over live replicas); partitions over its share are given back
after their learned state is saved, so the next holder resumes the baselines instead of relearning.
In between it drains the points other replicas handed over for its partitions. A replica that
dies stops renewing; its partitions are taken over once their lease runs out, from the state it
last saved (at most a save interval of learning is lost, no point is).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from engine.models import Alert
from engine.storage import detector_partition_rows, detector_rows
from engine.storage.store import Store
from engine.watch import SAVE_BATCH, MetricWatch

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)
DRAIN_LIMIT = 5_000  # handed-over points per transaction


class DetectorPartitions:
    def __init__(
        self,
        store: Store,
        watch: MetricWatch,
        raise_alerts: Callable[[Sequence[Alert]], Awaitable[object]],
        *,
        replica: str | None = None,
        lease: timedelta = LEASE,
        drain_every: float = 0.2,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if watch.ownership is None:
            raise ValueError("the watch has no ownership to keep")
        self.store = store
        self.watch = watch
        self.ownership = watch.ownership
        self.raise_alerts = raise_alerts
        self.replica = replica or uuid.uuid4().hex
        self.lease = lease
        self.drain_every = drain_every
        self._wall = wall
        self._monotonic = monotonic
        # a periodic save committing after a give-back would overwrite the next holder's state
        self._saving = asyncio.Lock()
        # partitions being given back in the background: still leased here (so nobody takes them
        # before their state is saved) but no longer detected or drained here
        self._giving_back: frozenset[int] = frozenset()
        self._give_back_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Take this replica's share and catch up on it before serving: a lone replica detects
        every series inline from its first point."""
        async with self.store.transaction() as conn:
            await detector_partition_rows.ensure_partitions(conn, self.ownership.count)
        await self.renew()
        while await self.drain():
            pass

    async def run(self, stop: asyncio.Event) -> None:
        # often, against the lease: a renewal delayed by a busy event loop must not let it lapse
        renew_every = self.lease.total_seconds() / 6
        next_renewal = self._monotonic() + renew_every
        failing = False
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                # a failing database is retried at the renewal pace, not five times a second
                await asyncio.wait_for(stop.wait(), renew_every if failing else self.drain_every)
            if stop.is_set():
                break
            try:
                if failing or self._monotonic() >= next_renewal:
                    late = self._monotonic() - next_renewal
                    next_renewal = self._monotonic() + renew_every
                    began = self._monotonic()
                    await self.renew()
                    took = self._monotonic() - began
                    if late + took > renew_every:
                        # what lets leases lapse: a busy event loop, a starved pool, a slow database
                        log.warning(
                            "detector lease renewal late",
                            extra={"late_s": round(late, 2), "renewal_s": round(took, 2)},
                        )
                # under a steady hand-over the inbox never runs dry: stop draining when the
                # renewal is due, or the lease lapses and the partitions change hands for nothing
                while await self.drain() and self._monotonic() < next_renewal:
                    pass
            except Exception:
                # leases lapse by themselves meanwhile, and handed-over points wait in the inbox
                if not failing:
                    log.warning("detector partitions: renewal or drain failed", exc_info=True)
                failing = True
            else:
                failing = False

    async def renew(self) -> None:
        started = self._monotonic()
        now = self._wall()
        async with self.store.transaction() as conn:
            live = await detector_partition_rows.announce(conn, self.replica, now, self.lease)
            share = math.ceil(self.ownership.count / live)
            kept, taken = await detector_partition_rows.hold(conn, self.replica, now, self.lease, share)
        kept = [partition for partition in kept if partition not in self._giving_back]
        # trusted for two thirds of the lease: another replica may take it only once all of it passed
        gained, lost = self.ownership.renewed(kept, taken, started + self.lease.total_seconds() * 2 / 3)
        if lost:
            log.warning(
                "detector partitions taken over by another replica", extra={"partitions": sorted(lost)}
            )
            await self.watch.give_up(lost, keep_learning=False)
        if gained:
            async with self.store.transaction() as conn:
                await self.watch.adopt(conn, gained)
            log.info("detector partitions taken", extra={"partitions": sorted(gained)})
        excess = frozenset(sorted({*kept, *taken})[share:])
        if excess and self._give_back_task is None:
            # saving thousands of series' state takes seconds: not on the renewal's time, or the
            # leases it keeps lapse meanwhile and partitions change hands for nothing
            self._giving_back = excess
            self.ownership.drop(excess)  # not detected here from now on: their points are handed over
            self._give_back_task = asyncio.create_task(self._give_back_later(excess), name="give-back")

    async def given_back(self) -> None:
        """Wait for a give-back the last renewal started (if any) to finish."""
        if self._give_back_task is not None:
            await asyncio.gather(self._give_back_task, return_exceptions=True)

    async def _give_back_later(self, partitions: frozenset[int]) -> None:
        try:
            await self.give_back(partitions)
        except Exception:
            # still leased here: the next renewal keeps them and they catch up from the inbox
            log.warning("giving back detector partitions failed", exc_info=True)
        finally:
            self._giving_back = frozenset()
            self._give_back_task = None

    async def give_back(self, partitions: frozenset[int], *, keep_learning: bool = True) -> None:
        async with self._saving:
            states = await self.watch.give_up(partitions, keep_learning=keep_learning)
            async with self.store.transaction() as conn:
                await detector_rows.save_states(conn, states, self._wall())
                await detector_partition_rows.release(conn, self.replica, sorted(partitions))
        log.info("detector partitions given back", extra={"partitions": sorted(partitions)})

    async def save(self, limit: int = SAVE_BATCH) -> int:
        """Persist up to `limit` series' learning since their last save; returns how many."""
        async with self._saving, self.store.transaction() as conn:
            return await self.watch.save(conn, self._wall(), limit=limit)

    async def drain(self) -> int:
        """Detect what was handed over for this replica's partitions; returns how many points."""
        async with self.store.transaction() as conn:
            taken, raised = await self.watch.take_handed_over(conn, DRAIN_LIMIT)
        if raised:
            await self.raise_alerts(raised)
        return taken

    async def close(self, budget: float) -> None:
        """Save what was learned within `budget` seconds (the rest relearns, which costs alerts a
        warm-up, not data), then give everything back so the other replicas take over at once."""
        deadline = self._monotonic() + budget
        await self.given_back()
        while self.watch.unsaved and self._monotonic() < deadline:
            await self.save()
        held = self.ownership.held
        if held:
            await self.give_back(held, keep_learning=False)
        async with self.store.transaction() as conn:
            await detector_partition_rows.withdraw(conn, self.replica)
