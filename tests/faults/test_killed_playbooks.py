"""Two `nocbot serve` replicas on one PostgreSQL run approved playbooks while one of them is killed
with SIGKILL every few seconds: every run ends exactly once, a step that is not idempotent reaches
its target at most once (an interrupted one fails the run for a person to look at), and an
idempotent one is repeated only when a crash cut it off.

The runs are asked for and approved as responders do it, with signed clicks on the card's "Run"
button and the thread's "Approve" button (Slack is a fake on loopback); a click the killed replica
acknowledged but never acted on is clicked again, as a person whose click did nothing would. The
steps call a target on loopback that records every request with the run, the step and the process
that sent it. Besides the periodic kills, the first request of one non-idempotent and of one
idempotent step is held unanswered and its sender killed then, so that both takeover rules are
exercised on every run of the test, not only when a periodic kill happens to land mid-step.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from engine.playbooks.machine import ACTIVE
from engine.storage.database import open_engine
from engine.storage.schema import approvals, incident_events, outbox, playbook_runs, playbook_steps
from tests.conftest import TOKEN
from tests.fakes import slack_signing as signing
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET
from tests.faults.replicas import Replica, send, send_raw

pytestmark = pytest.mark.postgres

ANA = "U0ANA0001"  # on call: asks for the runs
BO = "U0BO00001"  # the approver
SERVICES = {
    "checkout": "CheckoutPodsCrashLooping",
    "payments": "PaymentsLatencyHigh",
    "search": "SearchIndexLagging",
    "orders": "OrdersQueueBacklog",
}
KILL_EVERY = 3.0
LEASE = 3  # seconds (NOCBOT_PLAYBOOK_LEASE): a killed run is taken over within lease + one sweep (5 s)
CLICK_PATIENCE = 6.0  # seconds a responder waits for a click to show in the thread before clicking again
CLICKS = 8
PROCESS = "FAULT_TEST_PROCESS"  # which process a replica is; playbook steps send it as a header

# Step name → idempotent, for the steps that call the target. The waits are long enough that the
# periodic kills land mid-run too.
HTTP_STEPS = {"drain": False, "restart": True, "report": False}
PLAYBOOK = """\
name: drain-and-restart
title: Drain and restart
match: {services: [SERVICES]}
parameters:
  host: {label: host}
approvers: {users: ["slack:U0BO00001"]}
timeout: 10m
steps:
  - name: drain
    kind: http
    method: POST
    url: "BASE/step/drain?run={{ run_id }}&host={{ host }}"
    headers: {X-Process: "{{ secrets.FAULT_TEST_PROCESS }}"}
    idempotent: false   # draining twice would take a second node out
  - name: settle
    kind: wait
    duration: 3s
  - name: restart
    kind: http
    method: PUT
    url: "BASE/step/restart?run={{ run_id }}&host={{ host }}"
    headers: {X-Process: "{{ secrets.FAULT_TEST_PROCESS }}"}
    idempotent: true
  - name: settle again
    kind: wait
    duration: 2s
  - name: report
    kind: http
    method: POST
    url: "BASE/step/report?run={{ run_id }}&host={{ host }}"
    headers: {X-Process: "{{ secrets.FAULT_TEST_PROCESS }}"}
"""
FINAL_KINDS = ("playbook_succeeded", "playbook_failed", "playbook_timed_out", "playbook_cancelled")


@dataclass(frozen=True)
class Hit:
    run: int
    step: str
    process: str


@dataclass
class Target:
    """What the playbook changes: records every request it gets. The first request of each step in
    `traps` is held unanswered (until the end) and shown to the killer, which kills its sender."""

    traps: set[str]
    hits: list[Hit] = field(default_factory=list)
    trapped: dict[str, Hit] = field(default_factory=dict)
    """Step → the request held for it."""
    handled: set[str] = field(default_factory=set)
    """Steps whose held request's sender was killed."""
    sprung: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def step(self, request: web.Request) -> web.Response:
        hit = Hit(int(request.query["run"]), request.match_info["step"], request.headers["X-Process"])
        self.hits.append(hit)
        if hit.step in self.traps and hit.step not in self.trapped:
            self.trapped[hit.step] = hit
            self.sprung.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), 60)
        return web.json_response({"ok": True})

    def next_trap(self) -> Hit | None:
        return next((hit for step, hit in self.trapped.items() if step not in self.handled), None)

    def count(self, run: int, step: str) -> int:
        return sum(1 for hit in self.hits if (hit.run, hit.step) == (run, step))


@contextlib.asynccontextmanager
async def serving(target: Target) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/step/{step}", target.step)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        target.released.set()
        await server.close()


def buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        element["action_id"]: element["value"]
        for block in message.get("blocks") or []
        for element in block.get("elements") or []
        if element.get("type") == "button"
    }


async def until(condition: Callable[[], Awaitable[bool]], within: float, what: Callable[[], str]) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within:g} s: {what()}")
        await asyncio.sleep(0.2)


async def test_killing_replicas_mid_run_neither_repeats_nor_loses_an_approved_playbook_step(
    pg_url: str, tmp_path: Path
) -> None:
    target = Target(traps={"drain", "restart"})
    async with (
        FakeSlack() as slack,
        serving(target) as base,
        aiohttp.ClientSession() as session,
    ):
        for service in SERVICES:
            slack.add_channel(service)
        slack.add_user(ANA, "Ana Lima")
        slack.add_user(BO, "Bo Chen")
        playbooks = tmp_path / "playbooks"
        playbooks.mkdir()
        text = PLAYBOOK.replace("BASE", base).replace("SERVICES", ", ".join(SERVICES))
        (playbooks / "drain-and-restart.yaml").write_text(text, encoding="utf-8")
        env = {
            "NOCBOT_DATABASE_URL": pg_url,
            "NOCBOT_INGEST_TOKEN": TOKEN,
            "NOCBOT_SLACK_BOT_TOKEN": BOT_TOKEN,
            "NOCBOT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            # a channel each: Slack takes about a call a second per channel, so in a shared one a
            # delivery could wait behind the other incidents' for longer than the outbox lease,
            # which is short here so that what a killed replica held goes out again soon
            "NOCBOT_SLACK_ROUTES": ";".join(f"service={service}:#{service}" for service in SERVICES),
            "NOCBOT_SLACK_API_URL": slack.api_url,
            "NOCBOT_PLAYBOOKS_DIR": str(playbooks),
            "NOCBOT_PLAYBOOK_LEASE": str(LEASE),
            "NOCBOT_OUTBOX_LEASE": "5",
        }
        replicas = [Replica(name, dict(env), log_path=str(tmp_path / f"{name}.log")) for name in ("a", "b")]

        def process(replica: Replica) -> str:
            return f"{replica.name}{replica.starts}"

        async def start(replica: Replica) -> None:
            replica.env[PROCESS] = f"{replica.name}{replica.starts + 1}"
            await replica.start(session)

        await asyncio.gather(*(start(replica) for replica in replicas))
        alerts = [
            {"name": name, "severity": "critical", "labels": {"service": service, "host": f"{service}-1"}}
            for service, name in SERVICES.items()
        ]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        assert await send(session, replicas, "/api/v1/alerts", alerts, headers) in (200, 202)

        def cards() -> list[dict[str, Any]]:
            """The cards offering the playbook, each with the id of its channel."""
            return [
                {**message, "channel": channel}
                for channel in slack.channels
                for message in slack.messages(channel)
                if "nocbot.playbook.0" in buttons(message)
            ]

        await slack.wait_until(lambda: len(cards()) == len(SERVICES), within=60)
        clicks = itertools.count()

        async def press_until(
            user: str, action_id: str, value: str, card: dict[str, Any], done: Callable[[], bool]
        ) -> None:
            """Click until the thread shows it worked: a replica killed after answering Slack
            never acts on the click, and Slack does not send it again."""
            for _ in range(CLICKS):
                click = next(clicks)
                payload = signing.block_actions_payload(
                    action_id=action_id,
                    value=value,
                    user_id=user,
                    channel_id=card["channel"],
                    message_ts=card["ts"],
                    response_url=slack.response_url(f"click-{click}"),
                )
                request = signing.interactive_request(payload, SIGNING_SECRET)
                status = await send_raw(
                    session, replicas, "/slack/events", request.body, request.headers, first=click
                )
                assert status == 200, status
                with contextlib.suppress(TimeoutError):
                    await slack.wait_until(done, within=CLICK_PATIENCE)
                    return
            raise AssertionError(f"{action_id} never took effect; thread: {thread(card)}")

        def thread(card: dict[str, Any]) -> list[dict[str, Any]]:
            return slack.replies(card["channel"], card["ts"])

        def approval_request(card: dict[str, Any]) -> dict[str, Any] | None:
            return next((r for r in thread(card) if "nocbot.run.approve" in buttons(r)), None)

        async def operate(card: dict[str, Any]) -> None:
            """Ana asks for the playbook, Bo approves the request in the thread."""
            run = buttons(card)["nocbot.playbook.0"]
            await press_until(ANA, "nocbot.playbook.0", run, card, lambda: approval_request(card) is not None)
            request = approval_request(card)
            assert request is not None
            approve = buttons(request)["nocbot.run.approve"]
            await press_until(
                BO, "nocbot.run.approve", approve, card,
                lambda: any("Bo Chen approved playbook" in r["text"] for r in thread(card)),
            )  # fmt: skip

        stop = asyncio.Event()

        async def killer() -> None:
            """Kill one replica every KILL_EVERY seconds, and the sender of a held request at once."""
            victims = itertools.cycle(replicas)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(target.sprung.wait(), KILL_EVERY)
                target.sprung.clear()
                if stop.is_set():
                    return
                trap = target.next_trap()
                if trap is None:
                    victim: Replica | None = next(victims)
                else:  # None when a periodic kill already took that process
                    victim = next((r for r in replicas if process(r) == trap.process), None)
                if victim is not None:
                    await victim.kill()
                if trap is not None:
                    target.handled.add(trap.step)
                if victim is not None:
                    await start(victim)

        engine = open_engine(pg_url)

        async def unfinished() -> tuple[int, int]:
            """(runs not ended, outbox rows not sent)"""
            async with engine.connect() as conn:
                active = await conn.scalar(
                    select(func.count()).where(playbook_runs.c.status.in_([s.value for s in ACTIVE]))
                )
                unsent = await conn.scalar(select(func.count()).where(outbox.c.status != "sent"))
            return int(active or 0), int(unsent or 0)

        async def drained() -> bool:
            return not any(await unfinished())

        async def under_fire() -> bool:
            """Kills go on until every run ended, both traps were sprung and each replica died twice."""
            return (
                target.handled == target.traps
                and all(r.kills >= 2 for r in replicas)
                and (await unfinished())[0] == 0
            )

        killing = asyncio.create_task(killer())
        try:
            try:
                await asyncio.gather(*(operate(card) for card in cards()))
                await until(under_fire, within=120, what=lambda: f"runs ended, traps {target.handled}")
            finally:
                stop.set()
                target.released.set()
                await killing
            # what the last kill left in the outbox goes out once its lease (5 s) is over
            await until(drained, within=60, what=lambda: "outbox drained")
            async with engine.connect() as conn:
                runs = (await conn.execute(select(playbook_runs).order_by(playbook_runs.c.id))).all()
                steps = (await conn.execute(select(playbook_steps))).all()
                events = (
                    await conn.execute(
                        select(incident_events).where(incident_events.c.kind.like("playbook%"))
                    )
                ).all()
                decisions = (await conn.execute(select(approvals))).all()
        finally:
            await engine.dispose()
            await asyncio.gather(*(replica.stop() for replica in replicas))

    assert all(replica.kills >= 2 for replica in replicas), "both replicas were really killed"
    assert len({run.incident_id for run in runs}) == len(runs) == len(SERVICES), (
        "one run per incident, however often a click was repeated"
    )
    step_of = {(row.run_id, row.name): row for row in steps}
    for run in runs:
        assert [(d.actor, d.decision) for d in decisions if d.run_id == run.id] == [
            (f"slack:{BO}", "approved")
        ], "approved once, by Bo"
        finals = [e for e in events if e.kind in FINAL_KINDS and e.detail.get("run_id") == run.id]
        assert len(finals) == 1, f"run {run.id} ended once: {[e.text for e in finals]}"
        for name, idempotent in HTTP_STEPS.items():
            row, hits = step_of[(run.id, name)], target.count(run.id, name)
            assert hits <= row.attempts, f"run {run.id} {name}: {hits} calls, {row.attempts} recorded"
            if not idempotent:
                assert row.attempts <= 1 and hits <= 1, f"run {run.id}: {name} was repeated"
            if row.status == "succeeded":
                assert hits >= 1, f"run {run.id}: {name} succeeded without reaching the target"
            if row.status == "pending" or (row.attempts == 1 and row.status == "succeeded"):
                assert hits == row.attempts, f"run {run.id} {name}: {hits} calls, {row.attempts} attempts"
        ordered = sorted((row for row in steps if row.run_id == run.id), key=lambda row: row.position)
        if run.status == "succeeded":
            assert {row.status for row in ordered} == {"succeeded"}
            continue
        # the only way a run may end otherwise: a non-idempotent step cut off by a kill
        assert run.status == "failed", (run.id, run.status, run.error)
        (failed,) = [row for row in ordered if row.status == "failed"]
        assert HTTP_STEPS.get(failed.name) is False, f"run {run.id}: {failed.name} failed: {failed.error}"
        assert failed.error.startswith("interrupted"), failed.error
        assert run.error == f"step {failed.name!r} was interrupted"
        assert all(row.status == "pending" for row in ordered[failed.position + 1 :])

    # the trapped non-idempotent step: sent once, interrupted, and the run stopped there for a person
    drain = target.trapped["drain"]
    assert target.count(drain.run, "drain") == 1
    assert step_of[(drain.run, "drain")].status == "failed"
    assert not [hit for hit in target.hits if hit.run == drain.run and hit.step != "drain"]
    # the trapped idempotent step: cut off in one process, done again by another, the run went on
    restart = target.trapped["restart"]
    senders = [hit.process for hit in target.hits if (hit.run, hit.step) == (restart.run, "restart")]
    assert len(senders) >= 2 and len(set(senders)) >= 2, senders
    assert step_of[(restart.run, "restart")].status == "succeeded"
    assert any(run.status == "succeeded" for run in runs)

    # the thread shows each playbook note exactly as often as it happened: nothing lost, none doubled
    for run in runs:
        key = f"card:slack:{run.incident_id}"
        (card,) = [{**m, "channel": c} for c in slack.channels for m in slack.messages(c) if _key(m) == key]
        noted = Counter(e.text for e in events if e.incident_id == run.incident_id)
        posted = Counter(r["text"] for r in thread(card) if r["text"] in noted)
        assert posted == noted, f"incident {run.incident_id}: posted {posted}, noted {noted}"
        keys = [_key(r) for r in thread(card)]
        assert len(keys) == len(set(keys)), "no reply posted twice"


def _key(message: dict[str, Any]) -> str:
    return str(((message.get("metadata") or {}).get("event_payload") or {}).get("key", ""))
