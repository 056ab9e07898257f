"""Incident enrichment against the real database, on SQLite and PostgreSQL: the queries behind the
five sections, storing the result, and the chart from stored points."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.catalog import Catalog
from engine.clock import FixedClock
from engine.enrichment import (
    AffectedServices,
    MetricContext,
    RecentChanges,
    RelatedAlerts,
    SimilarIncidents,
)
from engine.enrichment.chart import render_metric_context
from engine.enrichment.service import HistoryRequest
from engine.enrichment_worker import MIN_REFRESH_INTERVAL, EnrichmentWorker
from engine.models import Alert, AlertStatus, ChangeEvent, MetricPoint, PastIncident, PointBatch, Priority
from engine.storage import alert_rows, change_rows, incident_rows, migrate
from engine.storage.database import open_engine
from engine.storage.enrichment_rows import SqlEnrichmentSource, enrich, load_enrichment, save_enrichment
from engine.storage.metric_rows import SeriesIds, insert_points
from engine.storage.schema import incident_alerts, incidents
from engine.storage.store import Store
from tests.unit.enrichment.builders import alert, shop

OPENED = datetime(2026, 11, 11, 11, 50, tzinfo=UTC)
NOW = OPENED + timedelta(minutes=10)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = open_engine(database_url)
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


async def open_incident(
    conn: AsyncConnection, title: str, services: list[str], members: list[Alert], **columns: Any
) -> int:
    row = {
        "title": title,
        "status": "open",
        "origin": "nocbot",
        "service": services[0] if services else None,
        "services": services,
        "reasons": [],
        "enrichment": {},
        "alert_count": len(members),
        "opened_at": OPENED,
        "auto_resolved": False,
        "updated_at": NOW,
        "version": 1,
        **columns,
    }
    incident_id = int(
        (await conn.execute(incidents.insert().values(row).returning(incidents.c.id))).scalar_one()
    )
    if members:
        stored = await alert_rows.upsert_alerts(conn, members, NOW)
        await conn.execute(
            incident_alerts.insert(),
            [
                {
                    "alert_id": i,
                    "incident_id": incident_id,
                    "joined_at": NOW,
                    "explanation": "",
                    "evidence": {},
                }
                for i in stored.ids
            ],
        )
    return incident_id


def checkout_alerts() -> list[Alert]:
    return [
        alert("DBConnectionPoolExhausted", "payments", start=OPENED, host="payments-7f9c2d:8080"),
        alert("HighErrorRate", "checkout", start=OPENED + timedelta(minutes=2), host="checkout-1:8080"),
        alert(
            "HighErrorRate",
            "checkout",
            start=OPENED + timedelta(minutes=3),
            host="checkout-2:8080",
            status=AlertStatus.RESOLVED,
        ),
    ]


async def test_recent_changes_on_affected_services_and_dependencies_only(engine: AsyncEngine) -> None:
    def deploy(service: str, minutes_before: float, what: str) -> ChangeEvent:
        return ChangeEvent(service, "deploy", "alice", what, OPENED - timedelta(minutes=minutes_before))

    async with engine.begin() as conn:
        incident_id = await open_incident(conn, "Checkout errors", ["checkout"], checkout_alerts())
        await change_rows.insert_changes(
            conn,
            [
                deploy("checkout", 10, "checkout 2.4.1"),
                deploy("payments-db", 30, "add index on payments"),  # checkout -> payments -> payments-db
                deploy("search", 5, "search 9.0"),  # unrelated to checkout
                deploy("checkout", 180, "checkout 2.4.0"),  # before the window
            ],
            NOW,
        )
    async with engine.connect() as conn:
        enrichment = await enrich(conn, incident_id, shop(), NOW)
        # the query itself keeps to the services and the window, newest first, and honours the limit
        queried = await SqlEnrichmentSource(conn).changes(
            ["checkout", "search"], OPENED - timedelta(hours=2), NOW, 10
        )
        assert [c.what for c in queried] == ["search 9.0", "checkout 2.4.1"]
        assert len(await SqlEnrichmentSource(conn).changes(["checkout", "search"], OPENED, NOW, 1)) == 0
        assert (
            len(
                await SqlEnrichmentSource(conn).changes(
                    ["checkout", "search"], OPENED - timedelta(hours=1), NOW, 1
                )
            )
            == 1
        )
    assert enrichment is not None
    changes = enrichment.recent_changes
    assert isinstance(changes, RecentChanges)
    assert [(c.service, c.what, c.relation, c.minutes_before_start) for c in changes.items] == [
        ("checkout", "checkout 2.4.1", "affected", 10.0),
        ("payments-db", "add index on payments", "dependency of checkout", 30.0),
    ]
    assert changes.items[0].who == "alice"


async def test_the_planted_past_incident_ranks_first(engine: AsyncEngine) -> None:
    day = timedelta(days=1)
    history = [
        PastIncident(
            f"INC-{n}", title, service, Priority.P3, OPENED - n * day, resolved_at=OPENED - n * day + day / 24
        )
        for n, (title, service) in enumerate(
            [
                ("Checkout latency above 2s", "checkout"),
                ("Checkout pods crash looping", "checkout"),
                ("Payments webhook timeouts", "payments"),
                ("Search index stale", "search"),
                ("Disk full on catalog-db-2", "catalog-db"),
            ]
            * 20,
            start=1,
        )
    ]
    planted = PastIncident(
        "INC-PLANTED",
        "DB connection pool exhausted on payments-4d2a1c",
        "payments",
        Priority.P2,
        OPENED - 40 * day,
        resolved_at=OPENED - 40 * day + timedelta(minutes=35),
        resolution="raised max_connections to 400 and restarted payments",
        playbook="payments-db-pool",
    )
    async with engine.begin() as conn:
        await incident_rows.import_past_incidents(conn, [*history, planted], NOW)
        incident_id = await open_incident(
            conn, "DBConnectionPoolExhausted on payments-7f9c2d", ["payments", "checkout"], checkout_alerts()
        )
    async with engine.connect() as conn:
        enrichment = await enrich(conn, incident_id, shop(), NOW)
    assert enrichment is not None
    similar = enrichment.similar_incidents
    assert isinstance(similar, SimilarIncidents)
    first = similar.items[0]
    assert first.external_id == "INC-PLANTED"
    assert (first.priority, first.resolve_seconds, first.playbook) == (2, 35 * 60, "payments-db-pool")
    assert first.resolution == "raised max_connections to 400 and restarted payments"
    assert len(similar.items) <= 3


async def test_stored_enrichment_round_trips_and_feeds_later_comparisons(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        incident_id = await open_incident(
            conn, "Checkout errors", ["checkout"], checkout_alerts(), status="resolved", resolved_at=NOW
        )
    async with engine.connect() as conn:
        enrichment = await enrich(conn, incident_id, shop(), NOW)
    assert enrichment is not None and "env=prod" in enrichment.profile.labels
    async with engine.begin() as conn:
        assert await save_enrichment(conn, incident_id, enrichment)
        again = dataclasses.replace(enrichment, computed_at=NOW + timedelta(minutes=1))
        assert not await save_enrichment(conn, incident_id, again)  # nothing new for the card
        assert await load_enrichment(conn, incident_id) == again
        # a later incident reads this one's profile (labels included) straight from the JSON column
        request = HistoryRequest(("checkout",), (), NOW + timedelta(hours=1), -1, 10, 0, 0)
        (entry,) = await SqlEnrichmentSource(conn).history(request)
    assert entry.profile == enrichment.profile


async def test_alerts_services_and_chart_from_real_rows(engine: AsyncEngine) -> None:
    start = OPENED.timestamp()
    points = [
        MetricPoint(
            "http_errors_total", {"service": "checkout", "route": "/pay"}, start + s, 2.0 + (s % 120) / 60
        )
        for s in range(-3600, 0, 30)
    ] + [
        MetricPoint("http_errors_total", {"service": "checkout", "route": "/pay"}, start + s, 40.0)
        for s in range(0, 600, 30)
    ]
    calm = [MetricPoint("cpu", {"service": "checkout"}, start + s, 0.5) for s in range(-3600, 600, 30)]
    async with engine.begin() as conn:
        incident_id = await open_incident(conn, "Checkout errors", ["checkout"], checkout_alerts())
        await open_incident(conn, "Auth down", ["auth"], [alert("AuthDown", "auth", start=OPENED)])
        batch = PointBatch.from_points([*points, *calm])
        await insert_points(conn, await SeriesIds().resolve(conn, batch.series, NOW), batch)
    async with engine.connect() as conn:
        enrichment = await enrich(conn, incident_id, shop(), NOW)
        assert await enrich(conn, incident_id + 100, shop(), NOW) is None
        # more members than read: the newest, plus the very first so "first" stays true
        partial = await SqlEnrichmentSource(conn).subject(incident_id, max_alerts=1)
    assert partial is not None and partial.alert_total == 3
    assert sorted(a.name for a in partial.alerts) == ["DBConnectionPoolExhausted", "HighErrorRate"]
    assert enrichment is not None
    related = enrichment.related_alerts
    assert isinstance(related, RelatedAlerts)
    assert (related.total, related.firing, related.first.name) == (3, 2, "DBConnectionPoolExhausted")
    services = enrichment.affected_services
    assert isinstance(services, AffectedServices)
    assert [(n.name, n.firing_alerts) for n in services.services[0].alerting_neighbours] == [
        ("payments", 1),
        ("auth", 1),
    ]
    context = enrichment.metric_context
    assert isinstance(context, MetricContext)
    assert (context.metric, context.labels) == ("http_errors_total", {"service": "checkout", "route": "/pay"})
    assert context.window.ts[0] >= start - 3600 and context.window.ts[-1] <= NOW.timestamp()
    assert context.band is not None and context.band.high[0] < 40.0
    png = render_metric_context(context)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


async def test_without_a_catalog_the_incident_is_still_enriched(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        incident_id = await open_incident(conn, "Checkout errors", ["checkout"], checkout_alerts())
    async with engine.connect() as conn:
        enrichment = await enrich(conn, incident_id, Catalog.empty(), NOW)
    assert enrichment is not None
    assert enrichment.notes()["affected_services"] == "no service catalog configured"
    assert enrichment.notes()["similar_incidents"].startswith("no similar past incidents")
    assert isinstance(enrichment.related_alerts, RelatedAlerts)


async def grow(conn: AsyncConnection, incident_id: int, members: list[Alert]) -> None:
    stored = await alert_rows.upsert_alerts(conn, members, NOW)
    await conn.execute(
        incident_alerts.insert(),
        [
            {"alert_id": i, "incident_id": incident_id, "joined_at": NOW, "explanation": "", "evidence": {}}
            for i in stored.ids
        ],
    )
    await conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(alert_count=incidents.c.alert_count + len(members))
    )


async def test_the_worker_refreshes_a_growing_incident_when_due_and_only_then(engine: AsyncEngine) -> None:
    def hosts(first: int, count: int) -> list[Alert]:
        return [
            alert("HighErrorRate", host=f"checkout-{n}:8080", start=OPENED)
            for n in range(first, first + count)
        ]

    async def stored_count(incident_id: int) -> int:
        async with engine.connect() as conn:
            enrichment = await load_enrichment(conn, incident_id)
        assert enrichment is not None
        return enrichment.alert_count

    async with engine.begin() as conn:
        incident_id = await open_incident(conn, "Checkout errors", ["checkout"], hosts(0, 2))
    clock = FixedClock(NOW)
    worker = EnrichmentWorker(Store(engine), shop(), clock)
    assert await worker.refresh(incident_id)  # never enriched
    assert not await worker.refresh(incident_id)  # nothing new
    # grown, but enriched a moment ago and not doubled: not yet
    async with engine.begin() as conn:
        await grow(conn, incident_id, hosts(2, 1))
    clock.advance(timedelta(seconds=5))
    assert not await worker.refresh(incident_id) and await stored_count(incident_id) == 2
    # doubled since: at once
    async with engine.begin() as conn:
        await grow(conn, incident_id, hosts(3, 1))
    clock.advance(timedelta(seconds=5))
    assert await worker.refresh(incident_id) and await stored_count(incident_id) == 4
    # grown again: due once the interval has passed since that refresh, not since the first one
    async with engine.begin() as conn:
        await grow(conn, incident_id, hosts(4, 1))
    clock.advance(MIN_REFRESH_INTERVAL - timedelta(seconds=1))
    assert not await worker.refresh(incident_id)
    clock.advance(timedelta(seconds=1))
    assert await worker.refresh(incident_id) and await stored_count(incident_id) == 5
    # another process (a replica, or this one restarted) knows only the stored enrichment, and
    # decides the same from it
    async with engine.begin() as conn:
        await grow(conn, incident_id, hosts(5, 1))
    clock.advance(timedelta(seconds=1))
    other = EnrichmentWorker(Store(engine), shop(), clock)
    assert not await other.refresh(incident_id) and not await worker.refresh(incident_id)
    async with engine.begin() as conn:
        await grow(conn, incident_id, hosts(6, 4))
    assert await other.refresh(incident_id) and await stored_count(incident_id) == 10
