"""Ingestion use cases: what happens to a batch of alerts, points or changes once it is parsed.

The HTTP routes, the CLI importers and replays all come through here, so they behave the same.
Alert batches are stored and clustered in one transaction: the correlator (pure, in memory) decides,
the store records the decisions. If the transaction fails, the correlator is rebuilt from the
database, so memory never runs ahead of what is stored.

With several replicas one of them decides (`deciding`); the others store each batch and queue it
for the decider in the same transaction, so no replica's correlator has to catch up with another's
on every batch (see `engine.storage.leadership`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog
from engine.clock import Clock
from engine.clustering.corrections import Correction
from engine.clustering.correlator import AlertCorrelator
from engine.clustering.dedup import AlertKey, InstanceOutcome
from engine.clustering.editing import CorrectionError
from engine.clustering.records import Decision, IncidentClosure, StoredIncident
from engine.clustering.silences import Silence
from engine.detection_feed import DetectionFeed
from engine.models import Alert, ChangeEvent, PointBatch
from engine.scoring import PriorityAssessment, PriorityScorer
from engine.storage import (
    change_rows,
    correlation_queue_rows,
    incident_rows,
    metric_rows,
    silence_rows,
    writer_turns,
)
from engine.storage.alert_rows import upsert_alerts
from engine.storage.incident_ids import ReservedIds
from engine.storage.records import AlertIngestResult, PointIngestResult
from engine.storage.schema import cluster_corrections
from engine.storage.store import Store
from engine.timeline import Timeline
from engine.triage import prioritize, scoring_pieces
from engine.watch import MetricWatch

CORRELATOR = "correlator"
log = logging.getLogger("nocbot.ingest")

CorrelatorFactory = Callable[[ReservedIds], AlertCorrelator]
IncidentListener = Callable[["IncidentChanges"], None]

RESCORE_INTERVAL = timedelta(seconds=15)
MAX_REMEMBERED_ALERT_IDS = 200_000
# a re-delivery only keeps its instance from going stale (after 12 h), so a replica that does not
# decide queues the same alert again at most this often
REQUEUE_DUPLICATE_AFTER = timedelta(minutes=10)
CHANGE_SYNC_OVERLAP = timedelta(seconds=30)  # transactions commit out of order
QUEUE_BATCH = 2_000
# A new alert costs the correlator 0.2-1 ms: a queue of 2,000 taken during an alert storm held the
# event loop 0.9-1.9 s, every request and chat button waiting. The correlation lets the loop run
# whenever it has had it this long (seconds).
CORRELATION_SLICE = 0.005
# after a point batch turned out to hold points already stored, this many batches go straight to the
# deduplicating insert before new points are assumed again
DEDUPLICATED_POINT_BATCHES = 50


@dataclass
class IncidentChanges:
    """Incidents a batch opened, grew or closed: what chat surfaces must show."""

    opened: set[int] = field(default_factory=set)
    grown: set[int] = field(default_factory=set)
    closed: set[int] = field(default_factory=set)
    reprioritized: set[int] = field(default_factory=set)

    def touched(self) -> set[int]:
        return self.opened | self.grown | self.closed | self.reprioritized


class IngestService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        correlator_factory: CorrelatorFactory,
        *,
        scorer: PriorityScorer,
        catalog: Catalog,
        team_timezone: tzinfo,
        watch: MetricWatch | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        self.store = store
        # cards are redrawn through the outbox in the same transaction as the change they show
        self.timeline = timeline or Timeline()
        self.watch = watch
        # the alerts the watch raises are queued for the decider: a points request never waits for
        # clustering, scoring and redraws (nor, since the feed, for the detector)
        self.detection = (
            DetectionFeed(store.engine, watch, lambda raised: self.alerts(raised, queue=True))
            if watch is not None
            else None
        )
        self.clock = clock
        self.scorer = scorer
        self.catalog = catalog
        self.team_timezone = team_timezone
        self._factory = correlator_factory
        self._ids = ReservedIds()
        self.correlator = correlator_factory(self._ids)
        self._listeners: list[IncidentListener] = []
        # stored id of instances seen lately, from committed batches only (re-delivery fast path)
        self._alert_ids: dict[AlertKey, int] = {}
        # instances of the batch being decided: the correlator's view of them is not committed yet
        self._deciding_keys: frozenset[AlertKey] = frozenset()
        self._scored: dict[int, tuple[datetime, int]] = {}  # when each incident was last scored, at what size
        self._unscored: set[int] = set()  # grew since, but scoring was throttled
        self._assessments: dict[int, PriorityAssessment] = {}  # last one per open incident
        self._stale = False  # memory may be ahead of the database: rebuild before the next decision
        self._epoch = -1  # the writer-turn counter this process's correlator reflects
        self.deciding = True  # False on a replica that queues its batches for the decider
        self._queued_duplicates: dict[int, datetime] = {}  # alert id → when last queued
        self._changes_seen: dict[int, datetime] = {}  # change id → received at (synced lately)
        self._changes_synced = datetime.min.replace(tzinfo=UTC)
        self._fresh_point_batches = 0  # < 0: point batches left to store deduplicating first
        # the correlator is a single-writer state machine: one alert batch at a time per process
        self._lock = asyncio.Lock()
        self.queue_when_busy = False
        """Set where a loop calls `decide_queued` (the app's decider loop): a deciding replica then
        queues alert batches that arrive while it is deciding instead of making them wait."""
        self._queued_here = False  # this replica queued batches the loop has not decided yet
        self._waiting_to_decide = 0  # alert requests waiting for the correlator lock
        self._queueing = 0  # batches of this replica being queued (not committed yet)
        self._queued_batches = 0  # batches of this replica whose queueing has ended (committed or not)

    def subscribe(self, listener: IncidentListener) -> None:
        """Be told, after each commit, which incidents a batch opened, grew or closed."""
        self._listeners.append(listener)

    async def start(self) -> None:
        """Load the open incidents into a fresh correlator (at startup, and after a failed batch)."""
        correlator = self._factory(self._ids)
        now = self.clock.now()
        async with self.store.engine.connect() as conn:
            # read before the incidents: a turn taken meanwhile makes this older, never newer
            epoch = await writer_turns.current(conn, CORRELATOR)
            stored = await incident_rows.open_incidents_with_alerts(conn)
            in_force = await silence_rows.current_silences(conn, now)
            # changes are evidence for the alerts that follow them, wherever they were received
            recent = await change_rows.changes_received_since(
                conn, datetime.min.replace(tzinfo=UTC), happened_since=now - correlator.config.change_window
            )
        correlator.restore([StoredIncident(id=i, alerts=a) for i, a in stored], now)
        correlator.set_silences(in_force)
        for change in recent:
            correlator.record_change(change.change)
        self._changes_seen = {change.id: change.received_at for change in recent}
        self._changes_synced = now
        self.correlator = correlator
        self._stale = False
        self._epoch = epoch
        self._alert_ids.clear()
        self._assessments.clear()
        log.info("correlator restored", extra={"open_incidents": len(stored)})

    async def alerts(self, batch: Sequence[Alert], *, queue: bool = False) -> AlertIngestResult:
        """Store a batch and decide it, or queue it for the decider loop (answered once stored).

        `queue`: queue it even when nothing else waits, where a loop decides the queue — for the
        alerts the metric watch raises, whose points request must not wait for their correlation,
        scoring and redraws (200 ms and more when an outage starts).
        """
        if not self.deciding:
            return await self._queue(batch)
        if self.queue_when_busy and (queue or self._waiting_to_decide or self._queued_here):
            # Busy (another batch is already waiting to be decided), or asked to. Queue this one,
            # answered once stored; the decider loop then decides the queue in large batches
            # (triage, redraws and the writer turn once per batch instead of once per request),
            # and what this replica queued is decided before any later batch of its own, in order.
            # A lone request is otherwise still decided before it is answered.
            self._queued_here = True
            self._queueing += 1
            try:
                return await self._queue(batch)
            finally:
                self._queueing -= 1
                self._queued_batches += 1
        self._waiting_to_decide += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting_to_decide -= 1
        try:
            return await self._decide_batch(batch)
        finally:
            self._lock.release()

    async def _decide_batch(self, batch: Sequence[Alert]) -> AlertIngestResult:
        """Store and decide `batch` now (holding the correlator lock)."""
        if self._stale:
            await self.start()
        try:
            async with self.store.transaction() as conn:
                turn = await self._take_turn(conn)
                await self._ids.refill(conn, len(batch))
                result = await self._store_alerts(conn, batch)
                self._deciding_keys = frozenset(AlertKey.of(alert) for alert in result.alerts)
                changes = await self._decide(conn, result)
                self._end_turn(turn)
        except BaseException:
            await self._forget_batch()
            raise
        finally:
            self._deciding_keys = frozenset()
        self._remember_ids(result)
        self._notify(changes)
        return result

    async def decide_queued(self, limit: int = QUEUE_BATCH) -> int:
        """On the deciding replica: decide on batches other replicas queued; returns how many
        deliveries were taken."""
        queued_before = self._queued_batches
        async with self.store.engine.connect() as conn:
            if not await correlation_queue_rows.waiting(conn):
                self._drained(queued_before)
                return 0
        async with self._lock:
            if self._stale:
                await self.start()
            try:
                async with self.store.transaction() as conn:
                    turn = await self._take_turn(conn)
                    queued_before = self._queued_batches
                    result = await correlation_queue_rows.take(conn, limit)
                    await self._ids.refill(conn, len(result.ids))
                    self._deciding_keys = frozenset(AlertKey.of(alert) for alert in result.alerts)
                    changes = await self._decide(conn, result)
                    self._end_turn(turn)
            except BaseException:
                await self._forget_batch()
                raise
            finally:
                self._deciding_keys = frozenset()
            self._remember_ids(result)
            if len(result.ids) < limit:
                self._drained(queued_before)
            self._notify(changes)
            return len(result.ids)

    def _drained(self, queued_before: int) -> None:
        """The queue read empty, or was taken whole, by a statement that began once `queued_before`
        of our batches were queued. Our batches are decided directly again only if none is on its
        way in and none was committed since: the statement's snapshot may predate that commit, and
        deciding a later batch before it would run the correlator's clock past it."""
        if not self._queueing and self._queued_batches == queued_before:
            self._queued_here = False

    async def _forget_batch(self) -> None:
        """Nothing of a failed batch was stored: forget ids reserved or learned inside it."""
        self._ids.forget()
        self._alert_ids.clear()
        await self._recover()

    async def _queue(self, batch: Sequence[Alert]) -> AlertIngestResult:
        """Store a batch and queue it for the deciding replica, in one transaction."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            # the deciding replica, queueing while busy, knows its re-deliveries from memory (unless
            # a failed batch left that memory ahead of the database: then it awaits a rebuild)
            result = (
                await self._store_alerts(conn, batch)
                if self.deciding and not self._stale
                else await upsert_alerts(conn, batch, now)
            )
            due = [
                position
                for position, (alert_id, outcome) in enumerate(zip(result.ids, result.outcomes, strict=True))
                if outcome != "duplicate"
                or now - self._queued_duplicates.get(alert_id, datetime.min.replace(tzinfo=UTC))
                >= REQUEUE_DUPLICATE_AFTER
            ]
            await correlation_queue_rows.enqueue(
                conn,
                AlertIngestResult(
                    ids=[result.ids[p] for p in due],
                    outcomes=[result.outcomes[p] for p in due],
                    alerts=[result.alerts[p] for p in due],
                ),
                now,
            )
        if len(self._queued_duplicates) > MAX_REMEMBERED_ALERT_IDS:
            self._queued_duplicates.clear()
        for position in due:
            self._queued_duplicates[result.ids[position]] = now
        if self.deciding:
            self._remember_ids(result)
        return result

    async def _decide(self, conn: AsyncConnection, result: AlertIngestResult) -> IncidentChanges:
        """Correlate stored deliveries, rescore what changed and queue the redraws (the caller's
        transaction, holding the writer turn)."""
        changes = await self._correlate(conn, result)
        reprioritized = await prioritize(
            conn,
            self._due_for_scoring(changes),
            correlator=self.correlator,
            scorer=self.scorer,
            catalog=self.catalog,
            team_timezone=self.team_timezone,
            now=self.clock.now(),
            previous=self._assessments,
        )
        for incident_id in changes.closed:
            self._assessments.pop(incident_id, None)
        changes.reprioritized |= set(reprioritized)
        await self._show(conn, changes, self.clock.now())
        return changes

    async def tick(self) -> IncidentChanges:
        """Let time pass: incidents whose alerts all resolved and stayed quiet close (on the
        deciding replica: another one's tick would only send the decider rebuilding), and growth
        whose scoring was throttled during a flood is scored."""
        if not self.deciding:
            return IncidentChanges()
        changes = IncidentChanges()
        async with self._turn() as (conn, now):
            for closure in self.correlator.tick(now):
                await self._close(conn, closure, now, changes)
            await self._show(conn, changes, now)
        catch_up = sorted(i for i in self._unscored if i not in changes.closed)
        self._unscored.clear()
        self._notify(changes)
        # a piece at a time, each in its own turn of the lock: after a flood the catch-up is tens
        # of incidents of ~150 alerts (0.3 s), and alert batches are decided between the pieces
        # instead of waiting for all of it
        pieces = list(scoring_pieces(catch_up, self._incident_size))
        for number, ids in enumerate(pieces):
            piece = set(ids)
            scored = IncidentChanges()
            try:
                async with self._turn() as (conn, now):
                    scored.reprioritized |= set(
                        await prioritize(
                            conn,
                            piece,
                            correlator=self.correlator,
                            scorer=self.scorer,
                            catalog=self.catalog,
                            team_timezone=self.team_timezone,
                            now=now,
                            previous=self._assessments,
                        )
                    )
                    self._mark_scored(piece, now)
                    await self._show(conn, scored, now)
            except BaseException:
                # the next tick tries them again
                self._unscored.update(itertools.chain.from_iterable(pieces[number:]))
                raise
            self._notify(scored)
            changes.reprioritized |= scored.reprioritized
        return changes

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[tuple[AsyncConnection, datetime]]:
        """A decision of its own (not an alert batch's): under the correlator lock, with a current
        correlator, in one transaction that takes the writer turn; a failure rebuilds memory from
        the database. Yields the connection and the time of the decision."""
        async with self._lock:
            if self._stale:
                await self.start()
            now = self.clock.now()
            try:
                async with self.store.transaction() as conn:
                    turn = await self._take_turn(conn)
                    yield conn, now
                    self._end_turn(turn)
            except BaseException:
                await self._recover()
                raise

    async def silence(self, silence: Silence) -> int:
        """Store a silence and apply it to alerts from now on; returns its id."""
        async with self._lock:
            now = self.clock.now()
            async with self.store.transaction() as conn:
                turn = await self._take_turn(conn)
                silence_id = await silence_rows.create_silence(conn, silence, now)
                in_force = await silence_rows.current_silences(conn, now)
                self._end_turn(turn)
            self.correlator.set_silences(in_force)
            return silence_id

    async def expire_silence(self, silence_id: int) -> bool:
        async with self._lock:
            now = self.clock.now()
            async with self.store.transaction() as conn:
                turn = await self._take_turn(conn)
                expired = await silence_rows.expire_silence(conn, silence_id, now)
                in_force = await silence_rows.current_silences(conn, now)
                self._end_turn(turn)
            self.correlator.set_silences(in_force)
            return expired

    async def silences(self) -> list[Silence]:
        async with self.store.engine.connect() as conn:
            return await silence_rows.current_silences(conn, self.clock.now())

    async def points(self, batch: PointBatch) -> PointIngestResult:
        """Store the points and put them on the detection feed (detected after the answer, in order;
        what the detector raises goes down the alert path).

        A live feed's points are new, so they are first stored as such (COPY on PostgreSQL); a batch
        holding a point already stored is rolled back whole and stored again, skipping those. After
        that, the next batches skip the first attempt for a while (a client re-sending overlapping
        windows would otherwise pay for two attempts each time).
        """
        fresh = self._fresh_point_batches >= 0
        self._fresh_point_batches = min(self._fresh_point_batches + 1, 0)
        try:
            return await self._store_points(batch, fresh=fresh)
        except metric_rows.PointsAlreadyStored:
            self._fresh_point_batches = -DEDUPLICATED_POINT_BATCHES
        return await self._store_points(batch, fresh=False)

    async def _store_points(self, batch: PointBatch, *, fresh: bool) -> PointIngestResult:
        now = self.clock.now()
        known = self.store.series.known(batch.series)
        # a transaction that learns no series ids leaves nothing to forget if it rolls back (the
        # store's forgets them all: every batch after it would look its series up again)
        transaction = self.store.transaction() if known is None else self.store.engine.begin()
        async with transaction as conn:
            series_ids = (
                known if known is not None else await self.store.series.resolve(conn, batch.series, now)
            )
            # points stamped well before now are recorded for the rollup to re-roll their buckets
            stored = await metric_rows.insert_points(
                conn, series_ids, batch, fresh=fresh, late_before=metric_rows.late_threshold(now)
            )
        if self.detection is not None:
            await self.detection.put(batch, series_ids)
        return PointIngestResult(stored=stored, duplicates=len(batch) - stored, series_ids=series_ids)

    async def changes(self, batch: Sequence[ChangeEvent]) -> int:
        stored = await self.store.ingest_changes(batch, self.clock.now())
        if self.deciding:
            await self.sync_changes()
        return stored

    async def sync_changes(self) -> int:
        """Learn the change events stored since the last look, by this replica or another one."""
        async with self._lock:
            now = self.clock.now()
            window = self.correlator.config.change_window
            async with self.store.engine.connect() as conn:
                fresh = await change_rows.changes_received_since(
                    conn, self._changes_synced - CHANGE_SYNC_OVERLAP
                )
            learned = 0
            for stored in fresh:
                if stored.id not in self._changes_seen:
                    self.correlator.record_change(stored.change)
                    self._changes_seen[stored.id] = stored.received_at
                    learned += 1
            self._changes_synced = now
            horizon = now - window - CHANGE_SYNC_OVERLAP
            if len(self._changes_seen) > 1_000:
                self._changes_seen = {i: at for i, at in self._changes_seen.items() if at >= horizon}
            return learned

    async def _store_alerts(self, conn: AsyncConnection, batch: Sequence[Alert]) -> AlertIngestResult:
        """Store what is new or changed; an exact re-delivery of an instance the correlator holds
        (most of Alertmanager's traffic) is answered from memory without touching the database.

        Memory is trusted only where it matches what is committed: ids are remembered after their
        batch commits, and an instance of the batch being decided (its correlator state may yet be
        rolled back) goes to the database.
        """
        known = [
            self._alert_ids.get(key)
            if key not in self._deciding_keys and self.correlator.is_duplicate(alert)
            else None
            for alert in batch
            for key in (AlertKey.of(alert),)
        ]
        fresh = [alert for alert, alert_id in zip(batch, known, strict=True) if alert_id is None]
        stored = await upsert_alerts(conn, fresh, self.clock.now()) if fresh else None
        ids: list[int] = []
        outcomes: list[str] = []
        alerts: list[Alert] = []
        position = 0
        for alert, alert_id in zip(batch, known, strict=True):
            if alert_id is not None:
                ids.append(alert_id)
                outcomes.append("duplicate")
                alerts.append(alert)
                continue
            assert stored is not None
            ids.append(stored.ids[position])
            outcomes.append(stored.outcomes[position])
            alerts.append(stored.alerts[position])
            position += 1
        return AlertIngestResult(ids=ids, outcomes=outcomes, alerts=alerts)

    def _remember_ids(self, committed: AlertIngestResult) -> None:
        if len(self._alert_ids) > MAX_REMEMBERED_ALERT_IDS:
            self._alert_ids.clear()
        for alert, alert_id in zip(committed.alerts, committed.ids, strict=True):
            self._alert_ids[AlertKey.of(alert)] = alert_id

    async def _correlate(self, conn: AsyncConnection, result: AlertIngestResult) -> IncidentChanges:
        """Run each delivery through the correlator, then record all decisions at once.

        A re-delivery the correlator holds still goes through it (it keeps the instance from being
        taken as stale); one it does not hold (an old instance it already forgot) is left alone, so
        a late re-delivery never reopens anything.

        Other coroutines run between pieces (the lock stays held: nothing else changes the
        correlator meanwhile, and the batch's own keys are in `_deciding_keys`, so what is read of
        it without the lock goes to the database).
        """
        wall = self.clock.now()
        writes = _DecisionWrites()
        slice_ends = time.perf_counter() + CORRELATION_SLICE
        for alert, alert_id, outcome in zip(result.alerts, result.ids, result.outcomes, strict=True):
            if time.perf_counter() >= slice_ends:
                await asyncio.sleep(0)
                slice_ends = time.perf_counter() + CORRELATION_SLICE
            if outcome == "duplicate" and self.correlator.incident_of(AlertKey.of(alert)) is None:
                continue
            writes.add(self.correlator.ingest(alert, _event_time(alert, wall)), alert, alert_id)
        return await writes.apply(conn, self.correlator, wall)

    async def _close(
        self, conn: AsyncConnection, closure: IncidentClosure, now: datetime, changes: IncidentChanges
    ) -> None:
        await _apply_closure(conn, closure, now, changes)

    # -- corrections by responders (they change the correlator's state, so they take its lock) -----

    async def resolve_by_hand(self, incident_id: int, actor: str) -> bool:
        """Resolve an incident for a responder; False when it was already resolved."""
        async with self._lock:
            now = self.clock.now()
            changes = IncidentChanges()
            try:
                async with self.store.transaction() as conn:
                    turn = await self._take_turn(conn)
                    try:
                        closure = self.correlator.close(incident_id, now, actor=actor)
                    except CorrectionError:
                        closure = IncidentClosure(incident_id, now, f"closed by {actor}")
                    closed = await incident_rows.close_incident(
                        conn, incident_id, at=now, reason=closure.reason, actor=actor, now=now
                    )
                    if closed:
                        await self.timeline.note(
                            conn, incident_id, kind="resolved", text=closure.reason, actor=actor, now=now
                        )
                        changes.closed.add(incident_id)
                        await self.timeline.status_changed(conn, [incident_id], "resolved", now)
                    self._end_turn(turn)
            except BaseException:
                await self._recover()
                raise
            self._assessments.pop(incident_id, None)
            self._notify(changes)
            return closed

    async def merge(self, into: int, other: int, actor: str) -> Correction:
        """Move every alert of `other` into `into`; raises CorrectionError when that makes no sense."""
        async with self._lock:
            now = self.clock.now()
            changes = IncidentChanges(grown={into}, closed={other})
            try:
                async with self.store.transaction() as conn:
                    turn = await self._take_turn(conn)
                    correction = self.correlator.merge(into, other, now, actor=actor)
                    await incident_rows.move_alerts(conn, other, into)
                    reason = f"merged into #{into} by {actor}"
                    await incident_rows.close_incident(
                        conn, other, at=now, reason=reason, actor=actor, now=now
                    )
                    await self._refresh(conn, {into}, now)
                    await record_correction(conn, correction, alert_ids=[], now=now)
                    await self.timeline.note(
                        conn, into, kind="merged", text=f"#{other} merged in by {actor}", actor=actor, now=now
                    )
                    await self.timeline.note(conn, other, kind="resolved", text=reason, actor=actor, now=now)
                    await self.timeline.status_changed(conn, [other], "resolved", now)
                    self._end_turn(turn)
            except CorrectionError:
                raise  # refused before anything changed: memory and database still agree
            except BaseException:
                await self._recover()
                raise
            self._notify(changes)
            return correction

    async def split(self, incident_id: int, alert_ids: Sequence[int], actor: str) -> Correction:
        """Move the given alerts out into a new incident; raises CorrectionError when invalid."""
        async with self._lock:
            now = self.clock.now()
            try:
                async with self.store.transaction() as conn:
                    turn = await self._take_turn(conn)
                    await self._ids.refill(conn, 1)
                    by_key = await incident_rows.alert_ids_by_key(conn, incident_id)
                    keys = [key for key, alert_id in by_key.items() if alert_id in set(alert_ids)]
                    if len(keys) != len(set(alert_ids)):
                        raise CorrectionError(f"some of those alerts are not in incident #{incident_id}")
                    correction = self.correlator.split(
                        incident_id, [AlertKey(*k) for k in keys], now, actor=actor
                    )
                    moved = [by_key[(k.fingerprint, k.starts_at)] for k in correction.moved]
                    first = (await incident_rows.alerts_of_incidents(conn, [incident_id]))[incident_id]
                    title = next(
                        (
                            a.summary
                            for a in first
                            if (a.fingerprint, a.starts_at) == tuple(correction.moved[0])
                        ),
                        f"split from #{incident_id}",
                    )
                    await incident_rows.create_incidents(
                        conn, [incident_rows.NewIncident(correction.target, title, None, now)], now
                    )
                    await incident_rows.attach_alerts(
                        conn,
                        [
                            incident_rows.Attachment(
                                a, correction.target, f"split from #{incident_id} by {actor}", {}
                            )
                            for a in moved
                        ],
                        now,
                    )
                    await self._refresh(conn, {incident_id, correction.target}, now)
                    await record_correction(conn, correction, alert_ids=moved, now=now)
                    await self.timeline.note(
                        conn,
                        incident_id,
                        kind="split",
                        text=f"{len(moved)} alerts split into #{correction.target}",
                        actor=actor,
                        now=now,
                    )
                    await self.timeline.note(
                        conn,
                        correction.target,
                        kind="opened",
                        text=f"split from #{incident_id} by {actor}",
                        actor=actor,
                        now=now,
                    )
                    self._end_turn(turn)
            except CorrectionError:
                await self._recover()
                raise
            except BaseException:
                self._ids.forget()
                await self._recover()
                raise
            self._notify(IncidentChanges(opened={correction.target}, grown={incident_id}))
            return correction

    async def _take_turn(self, conn: AsyncConnection) -> int:
        """Decide only with a current correlator: another replica may have decided since this one
        did (it moved the turn counter); then memory is rebuilt from the database first."""
        epoch = await writer_turns.take(conn, CORRELATOR)
        if epoch != self._epoch:
            log.info("another replica decided: rebuilding the correlator", extra={"turn": epoch})
            await self.start()
        return epoch

    def _end_turn(self, epoch: int) -> None:
        # taking the turn moved the counter on: this process's view is the database's once the
        # transaction commits; if it rolls back, _recover rebuilds and reads the counter again
        self._epoch = epoch + 1

    async def _show(self, conn: AsyncConnection, changes: IncidentChanges, now: datetime) -> None:
        """Queue what a batch changed for the chat surfaces and status followers (same transaction)."""
        await self.timeline.redraw(conn, changes.touched(), now)
        await self.timeline.status_changed(conn, changes.closed, "resolved", now)

    async def _refresh(self, conn: AsyncConnection, incident_ids: set[int], now: datetime) -> None:
        refreshed: dict[int, tuple[list[str], str | None]] = {}
        for incident_id in incident_ids:
            snapshot = self.correlator.summary(incident_id)
            if snapshot is not None:
                main = (
                    snapshot.roots[0]
                    if snapshot.roots
                    else (snapshot.services[0] if snapshot.services else None)
                )
                refreshed[incident_id] = (list(snapshot.services), main)
        await incident_rows.refresh_incidents(conn, refreshed, now)

    def _due_for_scoring(self, changes: IncidentChanges) -> set[int]:
        """New incidents always; grown ones when the last score is old or the incident grew by half.

        In an alert storm one incident grows on every batch; rescoring it each time would refetch its
        thousands of alerts per batch. Skipped ones are scored by the next clock tick.
        """
        now = self.clock.now()
        due = set(changes.opened)
        for incident_id in changes.grown - changes.opened - changes.closed:
            snapshot = self.correlator.summary(incident_id)
            size = snapshot.size if snapshot is not None else 0
            last = self._scored.get(incident_id)
            if last is None or now - last[0] >= RESCORE_INTERVAL or size >= 1.5 * max(last[1], 1):
                due.add(incident_id)
            else:
                self._unscored.add(incident_id)
        self._mark_scored(due, now)
        for incident_id in changes.closed:
            self._scored.pop(incident_id, None)
            self._unscored.discard(incident_id)
        return due

    def _incident_size(self, incident_id: int) -> int:
        snapshot = self.correlator.summary(incident_id)
        return snapshot.size if snapshot is not None else 0

    def _mark_scored(self, incident_ids: set[int], now: datetime) -> None:
        for incident_id in incident_ids:
            self._scored[incident_id] = (now, self._incident_size(incident_id))
            self._unscored.discard(incident_id)

    def announce(self, changes: IncidentChanges) -> None:
        """Tell listeners about changes made outside a batch (a responder acknowledged, say)."""
        self._notify(changes)

    def _notify(self, changes: IncidentChanges) -> None:
        if not changes.touched():
            return
        for listener in self._listeners:
            try:
                listener(changes)
            except Exception:
                log.exception("incident listener failed")

    async def _recover(self) -> None:
        self._stale = True
        try:
            await self.start()
        except Exception:
            # the database is unreachable: the next batch rebuilds before deciding anything
            log.warning("could not rebuild the correlator from the database yet")


class _DecisionWrites:
    """The database changes a batch of decisions implies, gathered so each kind is one statement."""

    def __init__(self) -> None:
        self.new: list[incident_rows.NewIncident] = []
        self.attachments: list[incident_rows.Attachment] = []
        self.closures: list[IncidentClosure] = []
        self.events: list[incident_rows.EventRow] = []
        self.changes = IncidentChanges()

    def add(self, decision: Decision, alert: Alert, alert_id: int) -> None:
        self.closures.extend(decision.closed_incidents)
        self.closures.extend(decision.merged_incidents)
        incident_id = decision.incident_id
        if decision.outcome is InstanceOutcome.NEW:
            if decision.opened:
                self.new.append(
                    incident_rows.NewIncident(incident_id, alert.summary, alert.service, alert.starts_at)
                )
                self.events.append(
                    incident_rows.EventRow(incident_id, "opened", f"opened by {alert.name}: {alert.summary}")
                )
                self.changes.opened.add(incident_id)
            else:
                self.changes.grown.add(incident_id)
            self.attachments.append(
                incident_rows.Attachment(
                    alert_id, incident_id, decision.explanation.sentence(), decision.explanation.as_dict()
                )
            )
        elif decision.outcome in (InstanceOutcome.RESOLVED, InstanceOutcome.UPDATED):
            self.changes.grown.add(incident_id)
        if decision.incident_resolved:
            self.closures.append(
                IncidentClosure(incident_id, alert.ends_at or alert.starts_at, "all alerts resolved")
            )

    async def apply(
        self, conn: AsyncConnection, correlator: AlertCorrelator, now: datetime
    ) -> IncidentChanges:
        changes = self.changes
        await incident_rows.create_incidents(conn, self.new, now)
        await incident_rows.attach_alerts(conn, self.attachments, now)
        for closure in self.closures:
            await _apply_closure(conn, closure, now, changes)
        refreshed: dict[int, tuple[list[str], str | None]] = {}
        for incident_id in changes.opened | changes.grown:
            snapshot = correlator.summary(incident_id)
            if snapshot is None:
                continue
            main = (
                snapshot.roots[0] if snapshot.roots else (snapshot.services[0] if snapshot.services else None)
            )
            refreshed[incident_id] = (list(snapshot.services), main)
        await incident_rows.refresh_incidents(conn, refreshed, now)
        await incident_rows.add_events(conn, self.events, now)
        return changes


async def _apply_closure(
    conn: AsyncConnection, closure: IncidentClosure, now: datetime, changes: IncidentChanges
) -> None:
    if closure.merged_into is not None:
        await incident_rows.move_alerts(conn, closure.incident_id, closure.merged_into)
        changes.grown.add(closure.merged_into)
    closed = await incident_rows.close_incident(
        conn, closure.incident_id, at=closure.closed_at, reason=closure.reason, actor="nocbot", now=now
    )
    if closed:
        await incident_rows.add_events(
            conn, [incident_rows.EventRow(closure.incident_id, "resolved", closure.reason)], now
        )
        changes.closed.add(closure.incident_id)


async def record_correction(
    conn: AsyncConnection, correction: Correction, *, alert_ids: Sequence[int], now: datetime
) -> None:
    """Store a responder's split or merge: labelled data for tuning the clustering."""
    rows = [
        {
            "kind": correction.kind.value,
            "alert_id": alert_id,
            "from_incident_id": correction.source,
            "to_incident_id": correction.target,
            "actor": correction.actor or "",
            "at": now,
        }
        for alert_id in ([*alert_ids] if alert_ids else [None])
    ]
    await conn.execute(cluster_corrections.insert(), rows)


def _event_time(alert: Alert, wall: datetime) -> datetime:
    """The correlator's clock: the wall clock, or the alert's own time when a replay runs ahead of it."""
    latest = (
        alert.ends_at if alert.ends_at is not None and alert.ends_at > alert.starts_at else alert.starts_at
    )
    return max(wall, latest)
