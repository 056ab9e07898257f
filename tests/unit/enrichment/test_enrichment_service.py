"""The orchestration over a fake store: each section degrades on its own."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pytest

from engine.catalog import Catalog
from engine.enrichment import (
    AffectedServices,
    EnrichmentConfig,
    HistoryEntry,
    HistoryRequest,
    IncidentSubject,
    MetricContext,
    RecentChanges,
    RelatedAlerts,
    SeriesWindow,
    SimilarIncidents,
    build_enrichment,
    should_refresh,
)
from engine.enrichment.similar import NO_HISTORY
from engine.models import AlertSource, ChangeEvent, SeriesRef
from tests.unit.enrichment.builders import T0, alert, at, change, past, shop
from tests.unit.enrichment.samples import full_enrichment

NOW = at(minutes=5)


@dataclasses.dataclass
class FakeSource:
    subject_: IncidentSubject | None
    changes_: list[ChangeEvent] = dataclasses.field(default_factory=list)
    history_: list[HistoryEntry] = dataclasses.field(default_factory=list)
    firing: dict[str, int] = dataclasses.field(default_factory=dict)
    series_: list[tuple[int, SeriesRef]] = dataclasses.field(default_factory=list)
    windows: dict[int, SeriesWindow] = dataclasses.field(default_factory=dict)
    broken: str | None = None
    calls: list[tuple[str, object]] = dataclasses.field(default_factory=list)

    def _call(self, name: str, argument: object) -> None:
        self.calls.append((name, argument))
        if self.broken == name:
            raise RuntimeError("connection lost")

    async def subject(self, incident_id: int, max_alerts: int) -> IncidentSubject | None:
        return self.subject_ if self.subject_ and self.subject_.id == incident_id else None

    async def changes(
        self, services: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> list[ChangeEvent]:
        self._call("changes", (tuple(services), since, until, limit))
        found = [c for c in self.changes_ if c.service in services and since <= c.at <= until]
        return sorted(found, key=lambda c: c.at, reverse=True)[:limit]

    async def history(self, request: HistoryRequest) -> list[HistoryEntry]:
        self._call("history", request)
        return self.history_

    async def firing_alerts(self, services: Sequence[str]) -> Mapping[str, int]:
        self._call("firing_alerts", tuple(services))
        return {s: n for s, n in self.firing.items() if s in services}

    async def series(
        self, services: Sequence[str], metrics: Sequence[str], limit: int
    ) -> list[tuple[int, SeriesRef]]:
        self._call("series", (tuple(services), tuple(metrics)))
        return self.series_[:limit]

    async def points(
        self, series_ids: Sequence[int], since: datetime, until: datetime
    ) -> dict[int, SeriesWindow]:
        self._call("points", (tuple(series_ids), since, until))
        return {i: w for i, w in self.windows.items() if i in series_ids}


def subject(**overrides: object) -> IncidentSubject:
    alerts = (
        alert("HighErrorRate", "checkout", start=T0),
        alert("HighLatency", "checkout", start=at(minutes=1)),
    )
    values: dict[str, object] = {
        "id": 1,
        "title": "HighErrorRate on checkout",
        "services": ("checkout",),
        "opened_at": T0,
        "alerts": alerts,
        "alert_total": 2,
    }
    values.update(overrides)
    return IncidentSubject(**values)  # type: ignore[arg-type]


def spike_window() -> SeriesWindow:
    ts = tuple(T0.timestamp() - 3600 + 60 * i for i in range(66))
    return SeriesWindow(ts, tuple(10.0 + (i % 3) * 0.1 if i < 60 else 50.0 for i in range(66)))


def full_source() -> FakeSource:
    return FakeSource(
        subject(),
        changes_=[change("payments", minutes=-10, who="alice"), change("search", minutes=-5)],
        history_=[past(9, "High error rate on checkout", playbook="rollback")],
        firing={"payments": 4},
        series_=[(3, SeriesRef("http_errors_total", {"service": "checkout"}))],
        windows={3: spike_window()},
    )


async def test_all_five_sections_from_a_full_store() -> None:
    source = full_source()
    enrichment = await build_enrichment(source, 1, catalog=shop(), now=NOW)
    assert enrichment is not None
    assert enrichment.notes() == {}
    assert isinstance(enrichment.related_alerts, RelatedAlerts) and enrichment.related_alerts.total == 2
    assert isinstance(enrichment.recent_changes, RecentChanges)
    assert [c.who for c in enrichment.recent_changes.items] == ["alice"]  # search is unrelated
    assert isinstance(enrichment.similar_incidents, SimilarIncidents)
    assert enrichment.similar_incidents.items[0].playbook == "rollback"
    assert isinstance(enrichment.affected_services, AffectedServices)
    assert [n.name for n in enrichment.affected_services.services[0].alerting_neighbours] == ["payments"]
    assert isinstance(enrichment.metric_context, MetricContext) and enrichment.metric_context.series_id == 3
    assert enrichment.profile.services == ("checkout",) and "error" in enrichment.profile.words
    assert enrichment.alert_count == 2 and enrichment.computed_at == NOW


async def test_windows_follow_the_configuration() -> None:
    source = full_source()
    config = EnrichmentConfig(change_lookback=timedelta(minutes=30), chart_before=timedelta(minutes=20))
    await build_enrichment(source, 1, catalog=shop(), now=NOW, config=config)
    calls = dict(source.calls)
    windows = [argument[1:3] for name, argument in source.calls if name == "changes"]  # type: ignore[index]
    assert windows == [(at(minutes=-30), T0), (T0, NOW)]  # before the start, then since
    assert calls["points"][1:] == (at(minutes=-20), NOW)  # type: ignore[index]
    request = calls["history"]
    assert isinstance(request, HistoryRequest)
    assert (request.services, request.before, request.exclude_id) == (("checkout",), T0, 1)
    assert "payments" in request.related and "frontend" in request.related


async def test_changes_after_the_start_cannot_crowd_out_the_suspects() -> None:
    later = [change("checkout", minutes=m, what=f"rollback {m}") for m in (1, 2, 3, 4)]
    earlier = [change("checkout", minutes=-m, what=f"deploy {m}") for m in (5, 6, 7)]
    source = dataclasses.replace(full_source(), changes_=later + earlier)
    config = EnrichmentConfig(max_changes=2, max_changes_after_start=1)
    enrichment = await build_enrichment(source, 1, catalog=shop(), now=NOW, config=config)
    assert enrichment is not None
    changes = enrichment.recent_changes
    assert isinstance(changes, RecentChanges)
    assert [c.what for c in changes.items] == ["rollback 4", "deploy 5", "deploy 6"]
    assert changes.more


async def test_without_a_catalog_or_a_history_those_sections_say_so() -> None:
    source = dataclasses.replace(full_source(), history_=[])
    enrichment = await build_enrichment(source, 1, catalog=Catalog.empty(), now=NOW)
    assert enrichment is not None
    assert enrichment.notes() == {
        "affected_services": "no service catalog configured",
        "similar_incidents": NO_HISTORY,
        # payments changed, but without a catalog it is not known to be a dependency of checkout
        "recent_changes": "no changes on checkout since 2026-11-22 08:00 UTC",
    }
    assert "firing_alerts" not in dict(source.calls)


@pytest.mark.parametrize("broken", ["changes", "history", "firing_alerts", "series", "points"])
async def test_a_failing_lookup_costs_only_its_own_section(broken: str) -> None:
    source = dataclasses.replace(full_source(), broken=broken)
    enrichment = await build_enrichment(source, 1, catalog=shop(), now=NOW)
    assert enrichment is not None
    notes = enrichment.notes()
    assert len(notes) == 1
    (note,) = notes.values()
    assert note.endswith("could not be looked up (RuntimeError)")


async def test_an_alert_naming_its_series_wins_over_a_louder_one() -> None:
    anomaly = alert(
        "LatencyAnomaly",
        "checkout",
        source=AlertSource.ANOMALY,
        host=None,
        extra={"metric": "latency_seconds", "route": "/pay"},
    )
    source = dataclasses.replace(
        full_source(),
        subject_=subject(alerts=(anomaly,), alert_total=1),
        series_=[
            (3, SeriesRef("http_errors_total", {"service": "checkout"})),
            (4, SeriesRef("latency_seconds", {"service": "checkout", "route": "/cart"})),
            (5, SeriesRef("latency_seconds", {"service": "checkout", "route": "/pay"})),
        ],
        windows={3: spike_window(), 4: spike_window(), 5: SeriesWindow((T0.timestamp(),), (0.3,))},
    )
    enrichment = await build_enrichment(source, 1, catalog=shop(), now=NOW)
    assert enrichment is not None
    assert isinstance(enrichment.metric_context, MetricContext)
    assert enrichment.metric_context.series_id == 5
    assert dict(source.calls)["series"] == (("checkout",), ("latency_seconds",))


async def test_unknown_incident_and_an_incident_without_services() -> None:
    assert await build_enrichment(full_source(), 2, catalog=shop(), now=NOW) is None
    source = dataclasses.replace(full_source(), subject_=subject(services=()))
    enrichment = await build_enrichment(source, 1, catalog=shop(), now=NOW)
    assert enrichment is not None
    assert set(enrichment.notes()) == {"recent_changes", "affected_services", "metric_context"}


def test_refresh_when_new_or_grown_and_not_too_often() -> None:
    previous = full_enrichment()  # 2 alerts, computed at T0 + 3 min
    minute = timedelta(minutes=1)
    assert should_refresh(None, alert_count=1, now=T0, min_interval=minute)
    assert not should_refresh(previous, alert_count=2, now=at(hours=1), min_interval=minute)
    assert not should_refresh(previous, alert_count=3, now=at(minutes=3.5), min_interval=minute)
    assert should_refresh(previous, alert_count=3, now=at(minutes=4), min_interval=minute)
    assert should_refresh(previous, alert_count=4, now=at(minutes=3.5), min_interval=minute)  # doubled
