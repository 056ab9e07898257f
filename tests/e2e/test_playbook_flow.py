"""A playbook from Slack, end to end: the card offers it, a responder asks, an allowed approver
clicks Approve in the thread, the steps run against a live HTTP target, the thread tells each step,
the check passes and the incident is resolved — and an approver who is not allowed is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.keys import STORE
from bot.settings import Settings
from bot.slack.routing import parse_routes
from bot.slack.settings import SlackSettings
from engine.storage.schema import audit_log, incidents
from tests.conftest import TOKEN
from tests.e2e.test_slack_flow import alert, buttons, channel_id, send_alerts
from tests.fakes import slack_signing as signing
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET

ANA = "U0ANA0001"  # on call: may ask, may not approve
BO = "U0BO00001"  # the approver

PLAYBOOK = """\
name: restart-checkout
title: Restart checkout pods
match: {services: [checkout]}
parameters:
  host: {label: host}
approvers: {users: ["slack:U0BO00001"]}
timeout: 1m
steps:
  - name: restart
    kind: http
    method: POST
    url: "BASE/restart?host={{ host }}"
    body: {host: "{{ host }}", incident: "{{ incident_id }}"}
  - name: healthy again
    kind: check
    probe: {url: "BASE/health", body_contains: '"ok": true'}
    interval: 50ms
    timeout: 10s
  - name: close
    kind: resolve
"""


@pytest.fixture
async def target() -> AsyncIterator[tuple[TestServer, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def restart(request: web.Request) -> web.Response:
        seen.append({"query": request.query_string, "json": await request.json()})
        return web.json_response({"restarted": True})

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": bool(seen)})

    app = web.Application()
    app.router.add_post("/restart", restart)
    app.router.add_get("/health", health)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, seen
    await server.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        slack.add_channel("incidents")
        slack.add_user(ANA, "Ana Lima")
        slack.add_user(BO, "Bo Chen")
        yield slack


def click(fake: FakeSlack, user: str, action_id: str, value: str, channel: str, ts: str, hook: str) -> Any:
    payload = signing.block_actions_payload(
        action_id=action_id,
        value=value,
        user_id=user,
        channel_id=channel,
        message_ts=ts,
        response_url=fake.response_url(hook),
    )
    return signing.interactive_request(payload, SIGNING_SECRET)


# Fakes come before make_client in each test's arguments: pytest tears fixtures down in reverse,
# so the service stops while its fakes still answer (else its shutdown waits out deliveries).


async def test_run_playbook_from_slack_approved_steps_run_and_the_incident_resolves(
    fake: FakeSlack,
    target: tuple[TestServer, list[dict[str, Any]]],
    make_client: Any,
    database_url: str,
    tmp_path: Path,
) -> None:
    server, seen = target
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    base = str(server.make_url("")).rstrip("/")
    (playbooks / "restart-checkout.yaml").write_text(PLAYBOOK.replace("BASE", base), encoding="utf-8")
    slack = SlackSettings(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        routes=parse_routes("*:#incidents"),
        api_url=fake.api_url,
    )
    settings = Settings(database_url=database_url, ingest_token=TOKEN, slack=slack, playbooks_dir=playbooks)
    client = await make_client(settings)
    channel = channel_id(fake, "incidents")
    hostile = '"; rm -rf / {{x}}'
    await send_alerts(client, [alert("CheckoutErrors", "checkout", hostile)])
    await fake.wait_until(
        lambda: (
            "nocbot.playbook.0" in buttons(fake.messages(channel)[0]) if fake.messages(channel) else False
        ),
        within=20,
    )
    card = fake.messages(channel)[0]

    async def press(user: str, action_id: str, value: str, hook: str) -> None:
        request = click(fake, user, action_id, value, channel, card["ts"], hook)
        response = await client.post("/slack/events", data=request.body.encode(), headers=request.headers)
        assert response.status == 200

    await press(ANA, "nocbot.playbook.0", buttons(card)["nocbot.playbook.0"], "ask")

    def approval_reply() -> dict[str, Any] | None:
        return next(
            (r for r in fake.replies(channel, card["ts"]) if "nocbot.run.approve" in buttons(r)), None
        )

    await fake.wait_until(lambda: approval_reply() is not None, within=20)
    request_reply = approval_reply()
    assert request_reply is not None
    approve = buttons(request_reply)["nocbot.run.approve"]

    # Ana may ask but not approve: refused privately, audited, nothing runs
    await press(ANA, "nocbot.run.approve", approve, "ana-approves")
    await fake.wait_until(lambda: any(hook == "ana-approves" for hook, _ in fake.responses), within=20)
    refusal = next(body for hook, body in fake.responses if hook == "ana-approves")["text"]
    assert "not allowed" in refusal.lower()
    assert not seen

    # Bo approves, twice in a row: one run
    await press(BO, "nocbot.run.approve", approve, "bo-1")
    await press(BO, "nocbot.run.approve", approve, "bo-2")

    def thread_texts() -> list[str]:
        return [r["text"] for r in fake.replies(channel, card["ts"])]

    try:
        await fake.wait_until(
            lambda: "Resolved" in json.dumps(fake.messages(channel)[0]["blocks"]), within=30
        )
    except TimeoutError:
        raise AssertionError(f"not resolved; thread: {thread_texts()}; target saw {seen}") from None
    assert len(seen) == 1, "approved twice, run once"
    assert seen[0]["json"]["host"] == hostile, "a hostile label reaches the target verbatim, as data"
    await fake.wait_until(lambda: any("healthy again" in text for text in thread_texts()), within=20)
    texts = thread_texts()
    assert any("restart" in text for text in texts), texts

    async with client.app[STORE].engine.connect() as conn:
        row = (await conn.execute(select(incidents.c.status, incidents.c.auto_resolved))).one()
        refused = (
            await conn.execute(select(audit_log.c.actor).where(audit_log.c.actor == f"slack:{ANA}"))
        ).all()
    assert (row.status, row.auto_resolved) == ("resolved", True)
    assert refused, "the refused approval is in the audit log"
