"""Playbook runs against a real database and a local HTTP target: approval, exactly-once execution,
the audit trail, crash recovery, and hostile label values reaching the target as plain data."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import delete, func, select

from engine.catalog import Catalog
from engine.clock import FixedClock
from engine.clustering.config import ClusteringConfig
from engine.clustering.correlator import AlertCorrelator
from engine.ingest import IngestService
from engine.models import Alert, AlertStatus, MetricPoint, PointBatch, Severity
from engine.playbook_runs import PlaybookRuns, Verdict
from engine.playbooks import Person, load_library
from engine.playbooks.machine import RunStatus, StepStatus
from engine.responders import Responders
from engine.scoring import DEFAULT_MODEL_PATH
from engine.scoring_service import load_active_scorer
from engine.storage import migrate, playbook_rows
from engine.storage.database import open_engine
from engine.storage.rollup_rows import roll_up, rollup_lock
from engine.storage.schema import (
    approvals,
    audit_log,
    incident_events,
    incidents,
    metric_points,
    outbox,
)
from engine.storage.store import Store
from engine.storage.types import to_epoch_us
from engine.timeline import Timeline
from integrations.playbook_steps import PlaybookExecutors

HOSTILE_NS = '"; rm -rf / {{ ns }}'
HOSTILE_POD = "pod-ü✓\n{{\u2028&x=1#"
REQUESTER = Person("slack:UREQ", "Ana")
BOSS = Person("slack:UBOSS", "Bo")
ONCALL = Person("slack:UCY", "Cy", frozenset({"slack:SONCALL"}))
EVE = Person("slack:UEVE", "Eve", frozenset({"slack:SOTHER"}))

PLAYBOOK = """\
name: restart-checkout
title: Restart checkout
match: {alertnames: [PodCrashLooping]}
parameters:
  ns: {label: namespace}
  pod: {label: pod}
approvers: {users: ["slack:UBOSS"], slack_groups: [SONCALL]}
timeout: 1m
steps:
  - name: announce
    kind: notify
    text: "restarting {{ pod }}"
  - name: restart
    kind: http
    method: PATCH
    url: "BASE/apis/apps/v1/namespaces/{{ ns }}/deployments/checkout?pod={{ pod }}"
    headers: {Authorization: "Bearer {{ secrets.K8S_TOKEN }}"}
    body: {pod: "{{ pod }}", note: "incident {{ incident_id }}"}
  - name: argv
    kind: command
    argv: [PYTHON, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))", "--", "{{ pod }}", "{{ ns }}"]
  - name: rolled out
    kind: check
    probe: {url: "BASE/status", body_contains: '"unavailableReplicas":0'}
    interval: 20ms
    timeout: 5s
  - name: error rate
    kind: check
    metric: {name: http_error_ratio, labels: {service: checkout}, below: 0.01}
    interval: 20ms
    timeout: 5s
  - name: close
    kind: resolve
"""

ORDERS = """\
name: drain-orders
match: {alertnames: [PodCrashLooping]}
approvers: {users: ["slack:UBOSS"]}
steps:
  - name: post
    kind: http
    method: POST
    url: "BASE/orders"
    IDEMPOTENT
    retries: 1
    retry_delay: 10ms
  - name: pause
    kind: wait
    duration: WAIT
"""


@dataclass
class Target:
    """The remediated system: records every request it gets."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    unavailable: int = 1
    fail_orders: bool = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.requests.append(
            {
                "method": request.method,
                "raw_path": request.raw_path,
                "auth": request.headers.get("Authorization"),
                "json": json.loads(body) if body else None,
            }
        )
        if request.method == "PATCH":
            self.unavailable = 0
        if request.path == "/status":
            return web.Response(
                text=f'{{"unavailableReplicas":{self.unavailable}}}', content_type="application/json"
            )
        if request.path == "/orders" and self.fail_orders:
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response({"ok": True})

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method]


@dataclass
class World:
    store: Store
    clock: FixedClock
    ingest: IngestService
    target: Target
    base: str
    session: aiohttp.ClientSession
    directory: Path

    def runs(self, **overrides: Any) -> PlaybookRuns:
        library = load_library(self.directory)
        executors = PlaybookExecutors(self.session, self.store, self.clock, allowed_commands=[sys.executable])
        return PlaybookRuns(
            self.store,
            self.clock,
            library,
            executors,
            Timeline(["slack"]),
            resolve=Responders(self.ingest).auto_resolve,
            secrets={"K8S_TOKEN": "s3cret"},
            **overrides,
        )

    def write(self, name: str, text: str) -> None:
        text = text.replace("BASE", self.base).replace("PYTHON", json.dumps(sys.executable))
        (self.directory / f"{name}.yaml").write_text(text)

    async def count(self, table: Any, *where: Any) -> int:
        async with self.store.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
            )


@pytest.fixture
async def world(database_url: str, clock: FixedClock, tmp_path: Path) -> AsyncIterator[World]:
    engine = open_engine(database_url)
    await migrate.upgrade(engine)
    store = Store(engine)
    async with engine.connect() as conn:
        scorer = await load_active_scorer(conn, fallback_path=DEFAULT_MODEL_PATH)
    catalog = Catalog.empty()
    ingest = IngestService(
        store,
        clock,
        lambda ids: AlertCorrelator(ClusteringConfig(), catalog, ids=ids),
        scorer=scorer,
        catalog=catalog,
        team_timezone=ZoneInfo("UTC"),
    )
    await ingest.start()
    target = Target()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", target.handle)
    server = TestServer(app)
    await server.start_server()
    directory = tmp_path / "playbooks"
    directory.mkdir()
    async with aiohttp.ClientSession() as session:
        world = World(store, clock, ingest, target, str(server.make_url("")).rstrip("/"), session, directory)
        world.write("restart", PLAYBOOK)
        yield world
    await server.close()
    await engine.dispose()


async def open_incident(world: World, **labels: str) -> int:
    await world.ingest.alerts(
        [
            Alert(
                fingerprint="crash1",
                name="PodCrashLooping",
                status=AlertStatus.FIRING,
                severity=Severity.CRITICAL,
                labels={"alertname": "PodCrashLooping", "service": "checkout", **labels},
                annotations={},
                starts_at=world.clock.now() - timedelta(minutes=2),
            )
        ]
    )
    async with world.store.engine.connect() as conn:
        return int((await conn.execute(select(func.max(incidents.c.id)))).scalar_one())


def error_ratio(at: datetime, value: float) -> MetricPoint:
    return MetricPoint("http_error_ratio", {"service": "checkout"}, at.timestamp(), value)


async def healthy_error_rate(world: World) -> None:
    now = world.clock.now()
    points = [error_ratio(now - timedelta(seconds=s), 0.001) for s in (90, 60, 30)]
    await world.store.ingest_points(PointBatch.from_points(points), now)


async def test_a_metric_check_reads_complete_buckets_then_the_raw_points_after_them(world: World) -> None:
    now = world.clock.now()
    # 30 minutes healthy, then 2 minutes of errors: too recent for any complete 5-minute bucket
    points = [error_ratio(now - timedelta(seconds=s), 0.002) for s in range(1800, 120, -30)]
    points += [error_ratio(now - timedelta(seconds=s), 0.5) for s in (90, 60, 30)]
    await world.store.ingest_points(PointBatch.from_points(points), now)
    async with rollup_lock(world.store.engine) as conn:
        assert conn is not None
        report = await roll_up(conn, now)
    mark = report.complete_until["5m"]
    assert now - timedelta(minutes=7) < mark <= now - timedelta(minutes=2)

    async def summary(window: timedelta) -> playbook_rows.MetricSummary:
        async with world.store.engine.connect() as conn:
            return await playbook_rows.metric_summary(
                conn, "http_error_ratio", {"service": "checkout"}, now - window
            )

    recent = await summary(timedelta(minutes=2))
    assert (recent.count, recent.high) == (3, 0.5)  # exactly the window's raw points
    whole = await summary(timedelta(minutes=40))
    assert (whole.count, whole.low, whole.high) == (len(points), 0.002, 0.5)  # each point once
    # and before the watermark it is the rollups that answer: the raw points there may be pruned
    async with world.store.transaction() as conn:
        await conn.execute(delete(metric_points).where(metric_points.c.ts < to_epoch_us(mark) // 1000))
    whole = await summary(timedelta(minutes=40))
    assert (whole.count, whole.low, whole.high) == (len(points), 0.002, 0.5)


async def test_request_approve_run_resolve_with_hostile_labels(world: World) -> None:
    incident_id = await open_incident(world, namespace=HOSTILE_NS, pod=HOSTILE_POD)
    await healthy_error_rate(world)
    runs = world.runs()

    pending = await runs.request(incident_id, "restart-checkout", REQUESTER)
    assert pending.verdict is Verdict.PENDING_APPROVAL and pending.run_id is not None
    run_id = pending.run_id

    # not an approver: refused and audited; the requester may not approve their own request
    refused = await runs.approve(run_id, EVE)
    assert refused.verdict is Verdict.NOT_ALLOWED
    assert (await runs.approve(run_id, REQUESTER)).verdict is Verdict.NOT_ALLOWED
    assert await world.count(audit_log, audit_log.c.action == "playbook_approve_refused") == 2
    assert await world.count(approvals, approvals.c.decision == "refused") == 2
    assert world.target.requests == []

    # two approvers click at once: one run
    first, second = await asyncio.gather(runs.approve(run_id, BOSS), runs.approve(run_id, ONCALL))
    assert sorted([first.verdict, second.verdict]) == sorted([Verdict.STARTED, Verdict.ALREADY_DECIDED])
    await runs.idle()

    found = await runs.run(run_id)
    assert found is not None
    run, steps = found
    assert run.status is RunStatus.SUCCEEDED, (run.error, steps)
    assert [s.status for s in steps] == [StepStatus.SUCCEEDED] * 6
    assert all(s.attempts == 1 for s in steps)
    assert await world.count(approvals, approvals.c.decision == "approved") == 1

    # the target saw one restart, with the label values as data
    (patch,) = world.target.calls("PATCH")
    path, _, query = patch["raw_path"].partition("?")
    segments = path.split("/")
    assert segments[:5] == ["", "apis", "apps", "v1", "namespaces"] and segments[6:] == [
        "deployments",
        "checkout",
    ]
    assert unquote(segments[5]) == HOSTILE_NS
    assert parse_qs(query) == {"pod": [HOSTILE_POD]}
    assert patch["json"] == {"pod": HOSTILE_POD, "note": f"incident {incident_id}"}
    assert patch["auth"] == "Bearer s3cret"
    assert json.loads(steps[2].output or "") == ["--", HOSTILE_POD, HOSTILE_NS]
    assert "s3cret" not in "".join(s.output or "" for s in steps)

    # resolved by the run, and recorded as auto-resolved
    async with world.store.engine.connect() as conn:
        row = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).mappings().one()
        share = await playbook_rows.auto_resolution(
            conn, world.clock.now() - timedelta(days=1), world.clock.now() + timedelta(seconds=1)
        )
    assert (row["status"], row["auto_resolved"], row["playbook"]) == ("resolved", True, "restart-checkout")
    assert row["resolved_by"] == "playbook:restart-checkout"
    assert (share.resolved, share.auto_resolved, share.share) == (1, 1, 1.0)
    assert share.by_playbook == {"restart-checkout": 1}
    assert await world.count(audit_log, audit_log.c.action == "auto_resolve") == 1

    # the timeline (and through the outbox, the chat thread) tells the story step by step
    async with world.store.engine.connect() as conn:
        events = (
            await conn.execute(
                select(incident_events.c.kind, incident_events.c.text)
                .where(incident_events.c.incident_id == incident_id)
                .order_by(incident_events.c.id)
            )
        ).all()
    kinds = [kind for kind, _text in events if kind.startswith("playbook")]
    assert kinds[:3] == ["playbook_requested", "playbook_approved", "playbook_running"]
    assert kinds.count("playbook_step") == 5 and kinds.count("playbook_notify") == 1
    assert kinds[-1] == "playbook_succeeded"
    requested = next(text for kind, text in events if kind == "playbook_requested")
    assert requested.startswith(
        "Ana requested playbook Restart checkout — waiting for approval by slack:UBOSS"
    )
    assert any(text == f"restarting {HOSTILE_POD}" for _kind, text in events)
    replies = await world.count(outbox, outbox.c.incident_id == incident_id, outbox.c.kind == "reply")
    assert replies >= len(kinds)


async def test_concurrent_requests_make_one_run(world: World) -> None:
    incident_id = await open_incident(world, namespace="checkout", pod="checkout-1")
    runs = world.runs()
    decisions = await asyncio.gather(
        *(runs.request(incident_id, "restart-checkout", REQUESTER) for _ in range(4))
    )
    verdicts = sorted(d.verdict for d in decisions)
    assert verdicts == sorted([Verdict.PENDING_APPROVAL] + [Verdict.ALREADY_ACTIVE] * 3)
    assert len(await runs.runs_of(incident_id)) == 1
    assert (await runs.request(incident_id, "no-such-playbook", REQUESTER)).verdict is Verdict.NOT_FOUND
    assert (await runs.request(9999, "restart-checkout", REQUESTER)).verdict is Verdict.NOT_FOUND


async def test_deny_and_cancel_are_checked_and_free_the_playbook(world: World) -> None:
    incident_id = await open_incident(world, namespace="checkout", pod="checkout-1")
    runs = world.runs()
    run_id = (await runs.request(incident_id, "restart-checkout", REQUESTER)).run_id
    assert run_id is not None
    assert (await runs.deny(run_id, EVE)).verdict is Verdict.NOT_ALLOWED
    assert (await runs.deny(run_id, ONCALL)).verdict is Verdict.DENIED
    assert (await runs.approve(run_id, BOSS)).verdict is Verdict.ALREADY_DECIDED
    assert await world.count(audit_log, audit_log.c.action == "playbook_deny_refused") == 1

    again = await runs.request(incident_id, "restart-checkout", REQUESTER)
    assert again.verdict is Verdict.PENDING_APPROVAL and again.run_id != run_id
    assert again.run_id is not None
    assert (await runs.cancel(again.run_id, EVE)).verdict is Verdict.NOT_ALLOWED
    assert (await runs.cancel(again.run_id, REQUESTER)).verdict is Verdict.CANCELLED
    assert world.target.requests == []


async def test_cancel_stops_a_running_step(world: World) -> None:
    world.write("orders", ORDERS.replace("IDEMPOTENT", "idempotent: false").replace("WAIT", "30s"))
    incident_id = await open_incident(world, namespace="checkout", pod="checkout-1")
    runs = world.runs()
    run_id = (await runs.request(incident_id, "drain-orders", REQUESTER)).run_id
    assert run_id is not None
    assert (await runs.approve(run_id, BOSS)).verdict is Verdict.STARTED
    for _ in range(200):  # until the wait step is under way
        found = await runs.run(run_id)
        if found and found[1][1].status is StepStatus.RUNNING:
            break
        await asyncio.sleep(0.01)
    assert (await runs.cancel(run_id, BOSS)).verdict is Verdict.CANCELLED
    await runs.idle()
    found = await runs.run(run_id)
    assert found is not None
    run, steps = found
    assert run.status is RunStatus.CANCELLED
    assert [s.status for s in steps] == [StepStatus.SUCCEEDED, StepStatus.FAILED]
    assert steps[1].error == "stopped: the run was cancelled"
    assert len(world.target.calls("POST")) == 1


async def test_a_failing_step_is_retried_then_fails_the_run(world: World) -> None:
    world.write("orders", ORDERS.replace("IDEMPOTENT", "idempotent: false").replace("WAIT", "10ms"))
    world.target.fail_orders = True
    incident_id = await open_incident(world, namespace="checkout", pod="checkout-1")
    runs = world.runs()
    run_id = (await runs.request(incident_id, "drain-orders", REQUESTER)).run_id
    assert run_id is not None
    await runs.approve(run_id, BOSS)
    await runs.idle()
    found = await runs.run(run_id)
    assert found is not None
    run, steps = found
    assert run.status is RunStatus.FAILED and run.error and "post" in run.error
    assert (steps[0].status, steps[0].attempts) == (StepStatus.FAILED, 2)
    assert steps[0].output and steps[0].output.startswith("HTTP 500")
    assert steps[1].status is StepStatus.PENDING
    assert len(world.target.calls("POST")) == 2
    async with world.store.engine.connect() as conn:
        status = await conn.scalar(select(incidents.c.status).where(incidents.c.id == incident_id))
    assert status == "open"
    # a finished run frees the playbook for the incident
    assert (await runs.request(incident_id, "drain-orders", REQUESTER)).verdict is Verdict.PENDING_APPROVAL


async def crashed_mid_first_step(world: World, runs: PlaybookRuns, incident_id: int) -> int:
    """A run whose worker died after marking its first step running (its lease then ran out)."""
    run_id = (await runs.request(incident_id, "drain-orders", REQUESTER)).run_id
    assert run_id is not None
    now = world.clock.now()
    async with world.store.transaction() as conn:
        assert await playbook_rows.approve(conn, run_id, actor=BOSS.key, now=now)
        assert await playbook_rows.claim(conn, run_id, worker="dead", now=now, lease=timedelta(seconds=30))
        await playbook_rows.renew(
            conn, run_id, worker="dead", now=now, lease=timedelta(seconds=30), current_step=0
        )
        await playbook_rows.start_step(conn, run_id, 0, now=now)
    return run_id


async def test_a_crash_never_repeats_a_step_that_is_not_idempotent(world: World) -> None:
    world.write("orders", ORDERS.replace("IDEMPOTENT", "idempotent: false").replace("WAIT", "10ms"))
    incident_id = await open_incident(world, namespace="checkout", pod="checkout-1")
    runs = world.runs()
    run_id = await crashed_mid_first_step(world, runs, incident_id)

    assert await runs.resume_interrupted() == 0  # the dead worker's lease has not run out yet
    world.clock.advance(timedelta(seconds=31))
    assert await runs.resume_interrupted() == 1
    await runs.idle()
    found = await runs.run(run_id)
    assert found is not None
    run, steps = found
    assert run.status is RunStatus.FAILED
    assert steps[0].status is StepStatus.FAILED and "not repeated" in (steps[0].error or "")
    assert world.target.requests == []


async def test_a_crash_repeats_an_idempotent_step(world: World) -> None:
    world.write("orders", ORDERS.replace("IDEMPOTENT", "idempotent: true").replace("WAIT", "10ms"))
    incident_id = await open_incident(world, namespace="checkout", pod="checkout-1")
    runs = world.runs()
    run_id = await crashed_mid_first_step(world, runs, incident_id)
    world.clock.advance(timedelta(seconds=31))
    stop = asyncio.Event()
    worker = asyncio.create_task(runs.run_worker(stop))
    for _ in range(300):
        found = await runs.run(run_id)
        if found and not found[0].status.active:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await worker
    await runs.idle()
    found = await runs.run(run_id)
    assert found is not None
    run, steps = found
    assert run.status is RunStatus.SUCCEEDED
    assert (steps[0].status, steps[0].attempts) == (StepStatus.SUCCEEDED, 2)
    assert len(world.target.calls("POST")) == 1


async def test_a_request_expires_without_approval(world: World) -> None:
    incident_id = await open_incident(world, namespace="checkout", pod="checkout-1")
    runs = world.runs()
    run_id = (await runs.request(incident_id, "restart-checkout", REQUESTER)).run_id
    assert run_id is not None
    world.clock.advance(timedelta(minutes=61))
    await runs.sweep()
    found = await runs.run(run_id)
    assert found is not None and found[0].status is RunStatus.TIMED_OUT
    assert (await runs.approve(run_id, BOSS)).verdict is Verdict.ALREADY_DECIDED
    assert world.target.requests == []
