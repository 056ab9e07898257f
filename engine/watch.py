"""Metric watch: every stored point goes through the streaming detector, and what it finds becomes
an alert that enters the same pipeline as external ones (so it clusters with them).

- an anomaly episode (spike, dip, level shift, drift) raises one `MetricAnomaly` alert, resolved when
  the series is back to normal;
- a metric with a configured limit (`NOCBOT_METRIC_LIMITS`, e.g. `disk_used_percent>=95`) is
  forecast from its recent trend and raises `PredictedBreach` ("predicted to reach 95 in ~23 min")
  before the limit is crossed.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.detection.config import DetectorConfig
from engine.detection.detector import decode_series
from engine.detection.forecast import BreachDecision, BreachRule, BreachWatch, forecast_breach
from engine.detection.result import AnomalyEvent, EpisodeEvent
from engine.detector_host import DetectorHost, DetectorLost, InProcessDetector
from engine.detector_ownership import Ownership
from engine.fingerprint import label_fingerprint
from engine.models import Alert, AlertSource, AlertStatus, PointBatch, SeriesRef, Severity
from engine.storage import detector_partition_rows, detector_rows
from engine.storage.schema import alerts

ANOMALY = "MetricAnomaly"
PREDICTED_BREACH = "PredictedBreach"
SEVERE_SCORE = 0.95  # a tail probability around 1e-7.6 on the detector's scale
SAVE_BATCH = 2_000  # series per save: bounded work per minute even with 100k series
SAVE_CHUNK = 200  # rows per statement when states are saved (a series' state is ~2 KB)

# series encoded per turn of the watch lock: the worker encodes ~0.1–0.25 ms a series, and points
# wait for it meanwhile (200 at a time held them up to 25–50 ms every minute)
ENCODE_CHUNK = 40

# a connection in a transaction, taken for one use (`AsyncEngine.begin`)
Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
# when the firing instance of each fingerprint started
FiringStarts = Callable[[set[str]], Awaitable[dict[str, datetime]]]


@dataclass(frozen=True, slots=True)
class MetricLimit:
    metric: str
    rule: BreachRule

    @classmethod
    def parse(cls, text: str) -> MetricLimit:
        """`disk_used_percent>=95` (breach when rising to it) or `free_bytes<=1e9` (falling)."""
        for op, rising in ((">=", True), ("<=", False)):
            if op in text:
                metric, _, raw = text.partition(op)
                if not metric.strip():
                    break
                try:
                    limit = float(raw)
                except ValueError:
                    raise ValueError(f"{text!r}: {raw.strip()!r} is not a number") from None
                return cls(metric.strip(), BreachRule(limit=limit, rising=rising))
        raise ValueError(f"{text!r}: expected metric>=limit or metric<=limit")


@dataclass
class _Trend:
    watch: BreachWatch
    points: deque[tuple[float, float]]


class MetricWatch:
    def __init__(
        self,
        config: DetectorConfig | None = None,
        limits: tuple[MetricLimit, ...] = (),
        *,
        ownership: Ownership | None = None,
        detector: DetectorHost | None = None,
    ) -> None:
        self.detector = detector or InProcessDetector(config)
        self._generation = self.detector.generation  # of the detector memory the slots below are in
        # with several replicas each series is detected by one of them (None: by this process)
        self.ownership = ownership
        self._limits = {limit.metric: limit.rule for limit in limits}
        self._slot_of: dict[int, int] = {}  # series id → detector slot
        self._series_of: list[int] = []  # slot → series id
        self._refs: list[SeriesRef] = []  # slot → series
        self._trends: dict[int, _Trend] = {}  # slot → breach forecast state (limited metrics only)
        self._dirty: set[int] = set()  # slots learned from since the last save
        self._lock = asyncio.Lock()

    async def observe(
        self,
        connect: Connect,
        batch: PointBatch,
        series_ids: list[int],
        *,
        sent: Callable[[], None] = lambda: None,
    ) -> list[Alert]:
        """Score the points (already stored) and return the alerts their series' episodes raise or
        end; points of series another replica detects are handed over to it instead.

        `sent` is called once the points are in the detector's queue (or handed over): from then on
        the next batch can be sent, and it will be scored after this one. A connection is taken
        from `connect` only while one is used: not while the detector scores, so batches waiting
        for a busy detector hold none of the connections the points requests need."""
        if not len(batch):
            sent()
            return []
        async with self._lock:
            point_series = np.asarray(series_ids, dtype=np.int64)[
                np.asarray(batch.series_index, dtype=np.int64)
            ]
            ts = np.asarray(batch.ts, dtype=np.float64)
            values = np.asarray(batch.values, dtype=np.float64)
            async with connect() as conn:
                if self.ownership is not None:
                    here = self.ownership.inline_mask(point_series)
                    if not here.all():
                        elsewhere = ~here
                        await detector_partition_rows.hand_over(
                            conn,
                            self.ownership.partitions_of(point_series[elsewhere]),
                            point_series[elsewhere],
                            ts[elsewhere],
                            values[elsewhere],
                        )
                        point_series, ts, values = point_series[here], ts[here], values[here]
                # the series by id are needed only for series new to this process: built only then
                refs = functools.partial(_by_id, series_ids, batch.series)
                points = _Points(point_series, ts, values, refs)
                scoring = await self._send_anew_if_lost(conn, points)
        sent()
        firing_starts = functools.partial(_firing_starts_connecting, connect)
        # awaited with the lock released: the next batches are sent to the detector meanwhile
        try:
            return await self._alerts(firing_starts, scoring)
        except DetectorLost:
            async with self._lock, connect() as conn:
                scoring = await self._send_anew_if_lost(conn, points)
            return await self._alerts(firing_starts, scoring)

    async def take_handed_over(self, conn: AsyncConnection, limit: int) -> tuple[int, list[Alert]]:
        """Detect points other replicas handed over for the partitions held here (oldest first);
        returns how many were taken and the alerts they raise. Partitions taken over are detected
        inline once nothing handed over for them is left."""
        if self.ownership is None:
            return 0, []
        async with self._lock:
            held = self.ownership.held
            taken = await detector_partition_rows.take_handed_over(conn, sorted(held), limit)
            alerts: list[Alert] = []
            if len(taken):
                unseen = [sid for sid in dict.fromkeys(taken.series_ids.tolist()) if sid not in self._slot_of]
                found = await detector_partition_rows.series_refs(conn, unseen) if unseen else {}
                points = _Points(taken.series_ids, taken.ts, taken.values, lambda: found)
                alerts = await self._detect_holding_lock(conn, points)
            if taken.complete:
                # their points from now on come after everything handed over: detect them here
                self.ownership.caught_up(held)
            return len(taken), alerts

    async def adopt(self, conn: AsyncConnection, partitions: frozenset[int]) -> None:
        """Partitions this replica takes over: what it knows of their series may be older than what
        the previous holder saved, so each known series reloads its saved state (or starts over)."""
        if self.ownership is None or not partitions:
            return
        async with self._lock:
            self._follow_detector()
            ownership = self.ownership
            known = [sid for sid in self._slot_of if ownership.partition_of(sid) in partitions]
            saved = await asyncio.to_thread(self._decode, await detector_rows.load_states(conn, known))
            slots = {sid: self._slot_of[sid] for sid in known}
            await self.detector.put_series({slots[sid]: saved[sid] for sid in known if sid in saved})
            await self.detector.reset([slots[sid] for sid in known if sid not in saved])
            for slot in slots.values():
                self._trends.pop(slot, None)
                self._dirty.discard(slot)

    async def give_up(self, partitions: frozenset[int], *, keep_learning: bool) -> dict[int, bytes]:
        """Stop detecting these partitions here; with `keep_learning`, the state of their series
        learned since the last save is returned for saving before the lease is given back (a lease
        that lapsed may already be someone else's: its state must not overwrite theirs)."""
        if self.ownership is None or not partitions:
            return {}
        async with self._lock:
            self._follow_detector()
            ownership = self.ownership
            ownership.drop(partitions)
            chosen = [
                slot for slot in self._dirty if ownership.partition_of(self._series_of[slot]) in partitions
            ]
            self._dirty.difference_update(chosen)
        return await self._states(chosen) if keep_learning else {}

    async def _send_anew_if_lost(self, conn: AsyncConnection, points: _Points) -> _Scoring | None:
        try:
            return await self._send(conn, points)
        except DetectorLost:
            # once more on a new worker: the series reload their saved state, the points are scored
            return await self._send(conn, points)

    async def _detect_holding_lock(self, conn: AsyncConnection, points: _Points) -> list[Alert]:
        firing_starts = functools.partial(_firing_starts, conn)
        scoring = await self._send_anew_if_lost(conn, points)
        try:
            return await self._alerts(firing_starts, scoring)
        except DetectorLost:
            return await self._alerts(firing_starts, await self._send_anew_if_lost(conn, points))

    async def _send(self, conn: AsyncConnection, points: _Points) -> _Scoring | None:
        """Send the points to the detector (holding the lock: batches are scored in the order they
        are sent) and step the forecasts while it scores them."""
        if not len(points.series):
            return None
        distinct, position = np.unique(points.series, return_inverse=True)
        distinct_ids = distinct.tolist()
        self._follow_detector()
        await self._assign_slots(conn, distinct_ids, points.refs)
        slot_of = self._slot_of
        distinct_slots = [slot_of[sid] for sid in distinct_ids]
        slots = np.asarray(distinct_slots, dtype=np.int64)[position.ravel()]
        events = await self.detector.submit(slots, points.ts, points.values)
        self._dirty.update(distinct_slots)
        forecasts = await self._forecasts(conn, slots, points.ts, points.values)
        return _Scoring(events, self._refs, self._series_of, forecasts)

    async def _alerts(self, firing_starts: FiringStarts, scoring: _Scoring | None) -> list[Alert]:
        """The alerts a scored batch raises: episodes started or ended, forecasts."""
        if scoring is None:
            return []
        events = await scoring.events
        # the firing instances the ended episodes resolve, in one query (as stored before this batch)
        started = await firing_starts(
            {
                _episode_fingerprint(scoring.refs[event.slot])
                for event in events
                if event.kind is not EpisodeEvent.STARTED
            },
        )
        raised = [self._episode_alert(event, started, scoring) for event in events]
        raised += scoring.forecasts
        return [alert for alert in raised if alert is not None]

    def _follow_detector(self) -> None:
        """After the detector lost its memory (its worker died), forget which series had slots in it:
        each is given a new one, with its saved state, when its points next arrive."""
        if self._generation == self.detector.generation:
            return
        self._generation = self.detector.generation
        self._slot_of.clear()
        # new lists: batches in flight keep reading the slots they were sent with
        self._series_of = []
        self._refs = []
        self._trends.clear()
        self._dirty.clear()

    async def save(self, conn: AsyncConnection, now: datetime, *, limit: int = SAVE_BATCH) -> int:
        """Persist the state of up to `limit` series learned from since their last save; returns how
        many."""
        async with self._lock:
            self._follow_detector()
            chosen = list(itertools.islice(self._dirty, limit))
            self._dirty.difference_update(chosen)
        states = await self._states(chosen)
        items = list(states.items())
        for start in range(0, len(items), SAVE_CHUNK):
            await detector_rows.save_states(conn, dict(items[start : start + SAVE_CHUNK]), now)
        return len(states)

    @property
    def unsaved(self) -> int:
        return len(self._dirty)

    async def _states(self, slots: list[int]) -> dict[int, bytes]:
        """The saved form of these slots' states, by series id. Encoding takes ~0.1 ms a series:
        the lock is taken for ENCODE_CHUNK series at a time, so points are detected in between (a
        series learned from after its state was taken is marked to be saved again)."""
        states: dict[int, bytes] = {}
        for start in range(0, len(slots), ENCODE_CHUNK):
            async with self._lock:
                if self._generation != self.detector.generation:
                    break  # the detector's memory was lost: nothing left to save
                part = slots[start : start + ENCODE_CHUNK]
                blobs = await self.detector.series_states(part)
                states.update(zip([self._series_of[slot] for slot in part], blobs, strict=True))
        return states

    def _decode(self, blobs: dict[int, bytes]) -> dict[int, dict[str, npt.NDArray[Any]]]:
        return {sid: decode_series(blob, self.detector.config) for sid, blob in blobs.items()}

    async def _assign_slots(
        self, conn: AsyncConnection, series_ids: list[int], refs: Callable[[], Mapping[int, SeriesRef]]
    ) -> None:
        unseen = [sid for sid in series_ids if sid not in self._slot_of]
        if not unseen:
            return
        # after a restart every series arrives with its saved state: decoding it off the event loop
        saved = await asyncio.to_thread(self._decode, await detector_rows.load_states(conn, unseen))
        by_id = refs()
        # the new slots are taken once the worker has room and their states (a lost worker leaves
        # the series unseen, to be assigned again)
        first = len(self._series_of)
        await self.detector.reserve(first + len(unseen))
        slots = {sid: first + i for i, sid in enumerate(unseen)}
        await self.detector.put_series({slots[sid]: saved[sid] for sid in unseen if sid in saved})
        for sid in unseen:
            self._slot_of[sid] = len(self._series_of)
            self._series_of.append(sid)
            self._refs.append(by_id[sid])

    def _episode_alert(
        self, event: AnomalyEvent, started: dict[str, datetime], scoring: _Scoring
    ) -> Alert | None:
        """The alert an episode start raises, or the resolution of the one it raised (`started`:
        when each firing episode alert began, by fingerprint)."""
        ref = scoring.refs[event.slot]
        labels = {**ref.labels, "alertname": ANOMALY, "metric": ref.metric}
        fingerprint = label_fingerprint(labels)
        at = datetime.fromtimestamp(event.ts, tz=UTC)
        if event.kind == EpisodeEvent.STARTED:
            severity = Severity.ERROR if event.score >= SEVERE_SCORE else Severity.WARNING
            low, high = event.expected_low, event.expected_high
            return Alert(
                fingerprint=fingerprint,
                name=ANOMALY,
                status=AlertStatus.FIRING,
                severity=severity,
                labels={**labels, "severity": severity.label},
                annotations={
                    "summary": f"{ref.metric}{_label_text(ref.labels)} is {event.value:.4g}, "
                    f"expected {low:.4g}–{high:.4g}",
                    "observed": f"{event.value:.6g}",
                    "expected": f"{event.expected:.6g}",
                    "expected_low": f"{low:.6g}",
                    "expected_high": f"{high:.6g}",
                    "anomaly_score": f"{event.score:.3f}",
                    "series_id": str(scoring.series_of[event.slot]),
                },
                starts_at=at,
                source=AlertSource.ANOMALY,
            )
        summary = f"{ref.metric}{_label_text(ref.labels)} is back to normal ({event.value:.4g})"
        return _resolution(
            started.get(fingerprint),
            fingerprint,
            {**labels, "severity": Severity.WARNING.label},
            summary,
            at,
            AlertSource.ANOMALY,
        )

    async def _forecasts(
        self,
        conn: AsyncConnection,
        slots: npt.NDArray[np.int64],
        ts: npt.NDArray[np.float64],
        values: npt.NDArray[np.float64],
    ) -> list[Alert | None]:
        """Step each limited series' breach forecast point by point, so a batch of an hour of points
        raises at the minute a live feed would have."""
        if not self._limits:
            return []
        alerts: list[Alert | None] = []
        for position in np.argsort(ts, kind="stable").tolist():
            slot = int(slots[position])
            rule = self._limits.get(self._refs[slot].metric)
            if rule is None:
                continue
            trend = self._trends.get(slot)
            if trend is None:
                trend = self._trends[slot] = _Trend(BreachWatch(rule), deque())
            t, v = float(ts[position]), float(values[position])
            if not np.isfinite(v) or (trend.points and t <= trend.points[-1][0]):
                continue
            trend.points.append((t, v))
            while trend.points and trend.points[0][0] < t - rule.window_seconds:
                trend.points.popleft()
            alerts.append(await self._breach_alert(conn, slot, trend))
        return alerts

    async def _breach_alert(self, conn: AsyncConnection, slot: int, trend: _Trend) -> Alert | None:
        times = np.fromiter((p[0] for p in trend.points), dtype=np.float64)
        values = np.fromiter((p[1] for p in trend.points), dtype=np.float64)
        forecast = forecast_breach(times, values, trend.watch.rule)
        decision = trend.watch.step(forecast)
        if decision is None or forecast is None:
            return None
        ref = self._refs[slot]
        rule = trend.watch.rule
        labels = {**ref.labels, "alertname": PREDICTED_BREACH, "metric": ref.metric, "severity": "warning"}
        fingerprint = label_fingerprint(labels)
        at = datetime.fromtimestamp(forecast.at, tz=UTC)
        if decision is BreachDecision.RAISE:
            minutes = forecast.minutes_to_breach or 0.0
            return Alert(
                fingerprint=fingerprint,
                name=PREDICTED_BREACH,
                status=AlertStatus.FIRING,
                severity=Severity.WARNING,
                labels=labels,
                annotations={
                    "summary": f"{ref.metric}{_label_text(ref.labels)} predicted to reach {rule.limit:g} "
                    f"in ~{minutes:.0f} min (now {forecast.level:.4g})",
                    "minutes_to_breach": f"{minutes:.1f}",
                    "limit": f"{rule.limit:g}",
                    "series_id": str(self._series_of[slot]),
                },
                starts_at=at,
                source=AlertSource.PREDICTION,
            )
        summary = f"{ref.metric}{_label_text(ref.labels)} no longer heading for {rule.limit:g}"
        started = await detector_rows.firing_start(conn, fingerprint)
        return _resolution(started, fingerprint, labels, summary, at, AlertSource.PREDICTION)


@dataclass(frozen=True)
class _Points:
    """Points to detect, by series id, and the series by id (built only if a series is new here)."""

    series: npt.NDArray[np.int64]
    ts: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    refs: Callable[[], Mapping[int, SeriesRef]]


@dataclass
class _Scoring:
    """A batch sent to the detector, whose episodes are awaited with the watch lock released."""

    events: Awaitable[list[AnomalyEvent]]
    refs: list[SeriesRef]  # slot → series, as when the batch was sent
    series_of: list[int]  # slot → series id, likewise
    forecasts: list[Alert | None]


def _episode_fingerprint(ref: SeriesRef) -> str:
    return label_fingerprint({**ref.labels, "alertname": ANOMALY, "metric": ref.metric})


async def _firing_starts_connecting(connect: Connect, fingerprints: set[str]) -> dict[str, datetime]:
    """`_firing_starts` on a connection taken for it, none when no episode ended."""
    if not fingerprints:
        return {}
    async with connect() as conn:
        return await _firing_starts(conn, fingerprints)


async def _firing_starts(conn: AsyncConnection, fingerprints: set[str]) -> dict[str, datetime]:
    """When the firing instance of each fingerprint started (the latest, as `firing_start` finds it);
    fingerprints not firing are absent."""
    found: dict[str, datetime] = {}
    ordered = sorted(fingerprints)
    for start in range(0, len(ordered), 1000):
        rows = await conn.execute(
            select(alerts.c.fingerprint, func.max(alerts.c.starts_at).label("starts_at"))
            .where(alerts.c.fingerprint.in_(ordered[start : start + 1000]), alerts.c.status == "firing")
            .group_by(alerts.c.fingerprint)
        )
        found.update({row.fingerprint: row.starts_at for row in rows})
    return found


def _resolution(
    started: datetime | None,
    fingerprint: str,
    labels: dict[str, str],
    summary: str,
    at: datetime,
    source: AlertSource,
) -> Alert | None:
    """The resolved delivery of the alert an episode or forecast raised (None if it is not firing)."""
    if started is None:
        return None
    return Alert(
        fingerprint=fingerprint,
        name=labels["alertname"],
        status=AlertStatus.RESOLVED,
        severity=Severity.WARNING,
        labels=labels,
        annotations={"summary": summary},
        starts_at=started,
        ends_at=max(at, started),
        source=source,
    )


def _label_text(labels: dict[str, str] | object) -> str:
    if not isinstance(labels, dict) or not labels:
        return ""
    return " (" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) + ")"


def _by_id(series_ids: Sequence[int], series: Sequence[SeriesRef]) -> dict[int, SeriesRef]:
    return dict(zip(series_ids, series, strict=True))
