"""The Teams surface against a fake Teams on loopback: signed activities in, Bot Connector calls out.

Inbound: being added to a team stores where to post; Action.Execute invokes, legacy submits and
@mentions reach the action layer with the right actor and are answered (a refreshed card, a
refusal, a reply in the thread); requests without a valid Bot Framework token reach nothing.
Outbound, through the outbox: a card is posted into the routed channel once, updated in place, and
the timeline is replied in its thread, exactly once through rate limits, in order.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert

from bot.actions import ActionOutcome, Outcome, Surface
from bot.keys import CARDS, CLOCK, DELIVERERS, STORE
from bot.teams.pacing import ConversationPacer
from bot.teams.routing import parse_teams_routes
from bot.teams.settings import TeamsSettings
from bot.teams.wiring import install_teams
from engine.clock import FixedClock
from engine.clustering.silences import Matcher
from engine.outbox import Deliverer, OutboxWorker
from engine.storage import chat_message_rows, conversation_rows, migrate, outbox_rows
from engine.storage.database import open_engine
from engine.storage.schema import incidents
from engine.storage.store import Store
from engine.timeline import Timeline
from engine.view import ActionKind, ActionValue, IncidentView, build_incident_view
from integrations.teams_cards import CUSTOM_SILENCE_INPUT_ID
from tests.fakes.chat_actions import RecordingActions
from tests.fakes.teams_connector import (
    APP_ID,
    APP_PASSWORD,
    BOT_ID,
    BOT_NAME,
    TENANT_ID,
    FakeTeams,
    signing_key,
)

TEAM = "19:ops-general@thread.tacv2"  # a team's General channel has the team's id
INCIDENTS = "19:incidents@thread.tacv2"
DB_CRITICAL = "19:db-critical@thread.tacv2"
ANA_AAD = "6b0f5e1c-2f43-4a7e-9a55-0c1d2e3f4a5b"
ANA = {"id": "29:1ana-teams-id", "name": "Ana Lima", "aadObjectId": ANA_AAD}
MESSAGES = "/api/messages"
NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


# -- incidents and their cards ---------------------------------------------------------------------


@dataclass
class Incident:
    id: int
    version: int = 1
    title: str = "payments-api error rate above 5%"
    status: str = "open"
    service: str | None = "payments"
    services: tuple[str, ...] = ("payments",)
    priority: int | None = 2
    score: float | None = 64.0
    scorer: str | None = "rules"
    reasons: tuple[str, ...] = ("customer-facing service",)
    alert_count: int = 3
    opened_at: datetime = NOW - timedelta(minutes=4)
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    auto_resolved: bool = False


class Cards:
    """CardViews over incidents the test sets."""

    def __init__(self) -> None:
        self.incidents: dict[int, Incident] = {}

    async def view(self, incident_id: int) -> IncidentView | None:
        incident = self.incidents.get(incident_id)
        return build_incident_view(incident, now=NOW) if incident is not None else None


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    engine = open_engine(database_url)
    await migrate.upgrade(engine)
    store = Store(engine)
    yield store
    await store.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def cards() -> Cards:
    return Cards()


async def add_incident(store: Store, cards: Cards, incident: Incident) -> None:
    cards.incidents[incident.id] = incident
    async with store.transaction() as conn:
        await conn.execute(
            insert(incidents).values(
                id=incident.id,
                title=incident.title,
                status=incident.status,
                origin="nocbot",
                service=incident.service,
                services=list(incident.services),
                priority=incident.priority,
                reasons=list(incident.reasons),
                enrichment={},
                alert_count=incident.alert_count,
                opened_at=incident.opened_at,
                auto_resolved=False,
                updated_at=incident.opened_at,
                version=incident.version,
            )
        )


# -- the surface -----------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTeams]:
    async with FakeTeams() as teams:
        teams.add_team(TEAM, [(TEAM, None), (INCIDENTS, "Incidents"), (DB_CRITICAL, "DB critical")])
        yield teams


@pytest.fixture
def actions() -> RecordingActions:
    return RecordingActions()


def teams_settings(routes: str = "service=db:Ops/DB critical;*:Incidents", **changes: Any) -> TeamsSettings:
    values: dict[str, Any] = {
        "app_id": APP_ID,
        "app_password": APP_PASSWORD,
        "tenant_id": TENANT_ID,
        "routes": parse_teams_routes(routes),
    }
    values.update(changes)
    return TeamsSettings(**values)


@dataclass
class TeamsApp:
    client: TestClient[web.Request, web.Application]
    fake: FakeTeams
    deliverer: Deliverer
    worker: OutboxWorker
    store: Store
    clock: FixedClock

    async def send(self, activity: dict[str, Any], *, token: str | None = "valid") -> tuple[int, Any]:
        headers = {}
        if token == "valid":
            headers["Authorization"] = f"Bearer {self.fake.channel_token()}"
        elif token is not None:
            headers["Authorization"] = token
        response = await self.client.post(MESSAGES, json=activity, headers=headers)
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text

    async def deliver_all(self, *, rounds: int = 50) -> None:
        """Run the outbox until nothing is pending, moving the clock to whatever waits."""
        for _ in range(rounds):
            await self.worker.deliver_due()
            async with self.store.engine.connect() as conn:
                health = await outbox_rows.health(conn)
            assert health.dead == 0
            if health.pending == 0:
                return
            self.clock.advance(timedelta(seconds=30))
        raise AssertionError("the outbox did not drain")


@asynccontextmanager
async def serve_teams(
    store: Store, clock: FixedClock, cards: Cards, actions: RecordingActions, fake: FakeTeams, **settings: Any
) -> AsyncIterator[TeamsApp]:
    app = web.Application()
    app[STORE] = store
    app[CLOCK] = clock
    app[CARDS] = cards
    app[DELIVERERS] = {}
    # Teams' windows counted on the test's clock, and never slept through: a wait becomes a RetryLater
    pacer = ConversationPacer(max_wait=0.0, clock=lambda: clock.now().timestamp())
    install_teams(
        app, teams_settings(**settings), lambda _app: actions, endpoints=fake.endpoints, pacer=pacer
    )
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        deliverer = app[DELIVERERS]["teams"]
        worker = OutboxWorker(store, clock, {"teams": deliverer})
        yield TeamsApp(client, fake, deliverer, worker, store, clock)
    finally:
        await client.close()


@pytest.fixture
async def teams(
    store: Store, clock: FixedClock, cards: Cards, actions: RecordingActions, fake: FakeTeams
) -> AsyncIterator[TeamsApp]:
    async with serve_teams(store, clock, cards, actions, fake) as app:
        yield app


# -- activities as Teams sends them ----------------------------------------------------------------


def activity(fake: FakeTeams, kind: str, *, conversation: str = INCIDENTS, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "id": f"f:{uuid.uuid4().hex}",
        "timestamp": "2026-11-11T12:00:00.000Z",
        "localTimestamp": "2026-11-11T13:00:00.000+01:00",
        "channelId": "msteams",
        "serviceUrl": fake.service_url,
        "from": ANA,
        "conversation": {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": TENANT_ID,
            "id": conversation,
        },
        "recipient": {"id": BOT_ID, "name": BOT_NAME},
        "entities": [{"locale": "en-US", "country": "US", "platform": "Web", "type": "clientInfo"}],
        "channelData": {
            "channel": {"id": conversation.split(";")[0]},
            "team": {"id": TEAM},
            "tenant": {"id": TENANT_ID},
        },
        "locale": "en-US",
        **fields,
    }


def bot_added(fake: FakeTeams) -> dict[str, Any]:
    added = activity(fake, "conversationUpdate", conversation=TEAM, membersAdded=[{"id": BOT_ID}])
    added["channelData"] = {
        "team": {"aadGroupId": "0d1e2f3a-0000-4000-8000-000000000001", "name": "Ops", "id": TEAM},
        "eventType": "teamMemberAdded",
        "tenant": {"id": TENANT_ID},
        "settings": {"selectedChannel": {"id": TEAM}},
    }
    return added


def execute(fake: FakeTeams, value: ActionValue, *, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """An Action.Execute click on the card posted as message `1731000000001` in the Incidents channel."""
    return activity(
        fake,
        "invoke",
        conversation=f"{INCIDENTS};messageid=1731000000001",
        name="adaptiveCard/action",
        replyToId="1731000000001",
        value={
            "action": {
                "type": "Action.Execute",
                "id": f"nocbot.{value.action.value}",
                "verb": value.action.value,
                "data": {**value.as_dict(), **(inputs or {})},
            },
            "trigger": "manual",
        },
    )


def mention(fake: FakeTeams, words: str) -> dict[str, Any]:
    message_id = "1731000000777"
    return activity(
        fake,
        "message",
        conversation=f"{INCIDENTS};messageid={message_id}",
        id=message_id,
        text=f"<at>{BOT_NAME}</at> {words}",
        textFormat="plain",
        entities=[
            {
                "type": "mention",
                "text": f"<at>{BOT_NAME}</at>",
                "mentioned": {"id": BOT_ID, "name": BOT_NAME},
            },
            {"locale": "en-US", "country": "US", "platform": "Web", "type": "clientInfo"},
        ],
    )


async def stored_conversations(store: Store) -> dict[str, dict[str, Any]]:
    async with store.engine.connect() as conn:
        return {ref.channel: ref.reference for ref in await conversation_rows.all_of(conn, "teams")}


async def added_to_ops(teams: TeamsApp) -> None:
    status, _ = await teams.send(bot_added(teams.fake))
    assert status == 202
    await teams.fake.wait_until(lambda: bool(teams.fake.calls_of("channels")))
    await wait_for_channels(teams.store, 3)


async def wait_for_channels(store: Store, count: int) -> None:
    for _ in range(100):
        if len(await stored_conversations(store)) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the team's channels were not stored")


async def queue_card(store: Store, clock: FixedClock, incident_id: int) -> None:
    async with store.transaction() as conn:
        await Timeline(("teams",)).redraw(conn, [incident_id], clock.now())


async def queue_note(store: Store, clock: FixedClock, incident_id: int, text: str) -> None:
    async with store.transaction() as conn:
        await Timeline(("teams",)).note(
            conn, incident_id, kind="note", text=text, now=clock.now(), redraw=False
        )


async def card_message(store: Store, incident_id: int) -> chat_message_rows.ChatMessage | None:
    async with store.engine.connect() as conn:
        return await chat_message_rows.find(conn, incident_id, "teams")


# -- being added to a team -------------------------------------------------------------------------


async def test_being_added_to_a_team_stores_its_channels(teams: TeamsApp, fake: FakeTeams) -> None:
    await added_to_ops(teams)

    stored = await stored_conversations(teams.store)
    assert set(stored) == {TEAM, INCIDENTS, DB_CRITICAL}
    general = stored[TEAM]
    assert (general["name"], general["team"], general["teamId"]) == ("General", "Ops", TEAM)
    assert general["serviceUrl"] == fake.service_url
    reference = general["reference"]
    assert reference["conversation"]["id"] == TEAM
    assert reference["bot"]["id"] == BOT_ID
    assert reference["serviceUrl"] == fake.service_url
    assert stored[DB_CRITICAL]["name"] == "DB critical"
    assert stored[DB_CRITICAL]["reference"]["conversation"]["id"] == DB_CRITICAL
    # the channel list was asked for with the bot's own token
    [listing] = fake.calls_of("channels")
    assert listing.status == 200


async def test_channel_events_and_removal_keep_the_references_current(
    teams: TeamsApp, fake: FakeTeams
) -> None:
    await added_to_ops(teams)
    created = activity(fake, "conversationUpdate", conversation=TEAM)
    created["channelData"] = {
        "channel": {"id": "19:new@thread.tacv2", "name": "War room"},
        "eventType": "channelCreated",
        "team": {"id": TEAM},
        "tenant": {"id": TENANT_ID},
    }
    assert (await teams.send(created))[0] == 202
    assert (await stored_conversations(teams.store))["19:new@thread.tacv2"]["name"] == "War room"

    deleted = activity(fake, "conversationUpdate", conversation=TEAM)
    deleted["channelData"] = {**created["channelData"], "eventType": "channelDeleted"}
    assert (await teams.send(deleted))[0] == 202
    assert "19:new@thread.tacv2" not in await stored_conversations(teams.store)

    removed = activity(fake, "conversationUpdate", conversation=TEAM, membersRemoved=[{"id": BOT_ID}])
    removed["channelData"] = {"team": {"id": TEAM, "name": "Ops"}, "eventType": "teamMemberRemoved"}
    assert (await teams.send(removed))[0] == 202
    assert await stored_conversations(teams.store) == {}


# -- outbound: the card, its updates, its thread ---------------------------------------------------


async def test_card_is_posted_updated_in_place_and_replied_to(
    teams: TeamsApp, fake: FakeTeams, store: Store, clock: FixedClock, cards: Cards
) -> None:
    await added_to_ops(teams)
    await add_incident(store, cards, Incident(7))

    await queue_card(store, clock, 7)
    await teams.deliver_all()
    [posted] = fake.posts()
    assert posted.conversation == INCIDENTS  # "*:Incidents", by the name learnt from Teams
    [attachment] = posted.activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert "payments-api error rate" in attachment["content"]["body"][0]["text"]
    [send] = fake.calls_of("send")
    assert send.authorization is not None and send.authorization.startswith("Bearer bot-token-")
    message = await card_message(store, 7)
    assert message is not None
    assert (message.channel, message.message_id, message.shown_version) == (INCIDENTS, posted.id, 1)

    cards.incidents[7] = Incident(7, version=2, status="acknowledged", acknowledged_by="Ana Lima")
    await queue_card(store, clock, 7)
    await teams.deliver_all()
    assert len(fake.posts()) == 1  # updated, not posted again
    [update] = fake.calls_of("update")
    assert (update.conversation, update.activity_id) == (INCIDENTS, posted.id)
    assert posted.updates == 1
    assert "Acknowledged by Ana Lima" in str(posted.activity["attachments"][0]["content"])
    message = await card_message(store, 7)
    assert message is not None and message.shown_version == 2

    await queue_note(store, clock, 7, "Acknowledged by Ana Lima")
    await teams.deliver_all()
    [reply] = fake.replies(posted.id)
    assert reply.conversation == INCIDENTS
    assert reply.activity["text"] == "Acknowledged by Ana Lima"
    assert reply.activity["replyToId"] == posted.id
    assert len(fake.calls_of("token")) == 1  # one token for every call


async def test_routes_pick_the_channel_and_wait_for_the_bot_to_be_added(
    teams: TeamsApp,
    fake: FakeTeams,
    store: Store,
    clock: FixedClock,
    cards: Cards,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_incident(store, cards, Incident(8, service="db", services=("db",)))
    await queue_card(store, clock, 8)
    await teams.worker.deliver_due()
    await teams.worker.deliver_due()
    assert fake.calls_of("send") == []
    assert sum("has not been added" in record.getMessage() for record in caplog.records) == 1  # said once
    assert await card_message(store, 8) is None

    await added_to_ops(teams)
    await teams.deliver_all()
    [posted] = fake.posts()
    assert posted.conversation == DB_CRITICAL  # "service=db:Ops/DB critical"


async def test_a_429_storm_loses_nothing_and_posts_nothing_twice(
    teams: TeamsApp, fake: FakeTeams, store: Store, clock: FixedClock, cards: Cards
) -> None:
    await added_to_ops(teams)
    for incident_id in (11, 12):
        await add_incident(store, cards, Incident(incident_id))
        await queue_card(store, clock, incident_id)
        for step in range(3):
            await queue_note(store, clock, incident_id, f"#{incident_id} step {step}")
    fake.rate_limit(12, retry_after=5)

    await teams.deliver_all()

    assert len([call for call in fake.calls if call.status == 429]) == 12
    posts = fake.posts()
    assert sorted(len(fake.replies(post.id)) for post in posts) == [3, 3]
    assert len(posts) == 2
    for post in posts:
        texts = [reply.activity["text"] for reply in fake.replies(post.id)]
        incident = texts[0].split()[0]
        assert texts == [f"{incident} step {step}" for step in range(3)]  # in order
    for incident_id in (11, 12):
        message = await card_message(store, incident_id)
        assert message is not None and message.message_id in {post.id for post in posts}


async def test_a_server_error_is_retried_later(
    teams: TeamsApp, fake: FakeTeams, store: Store, clock: FixedClock, cards: Cards
) -> None:
    await added_to_ops(teams)
    await add_incident(store, cards, Incident(13))
    await queue_card(store, clock, 13)
    fake.fail(2, status=503, kinds=["send"])

    await teams.deliver_all()

    assert [call.status for call in fake.calls_of("send")] == [503, 503, 201]
    assert len(fake.posts()) == 1


async def test_a_card_refused_for_good_is_parked(
    teams: TeamsApp, fake: FakeTeams, store: Store, clock: FixedClock, cards: Cards
) -> None:
    await added_to_ops(teams)
    await add_incident(store, cards, Incident(14))
    await queue_card(store, clock, 14)
    fake.fail(1, status=403, kinds=["send"])
    await teams.worker.deliver_due()
    async with store.engine.connect() as conn:
        assert (await outbox_rows.health(conn)).dead == 1


# -- inbound: buttons --------------------------------------------------------------------------------


async def test_an_action_execute_acts_as_the_clicker_and_answers_with_the_card(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions, store: Store, cards: Cards
) -> None:
    await add_incident(store, cards, Incident(7, version=3))
    status, body = await teams.send(execute(fake, ActionValue(7, 3, ActionKind.ACKNOWLEDGE)))

    assert status == 200
    [call] = actions.calls
    assert call.name == "act"
    assert call.args == (7, 3, ActionKind.ACKNOWLEDGE, None)
    assert call.actor.surface is Surface.TEAMS
    assert call.actor.user_id == ANA_AAD
    assert call.actor.display_name == "Ana Lima"
    assert call.actor.groups == frozenset()
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert body["value"]["type"] == "AdaptiveCard"
    assert "payments-api error rate" in body["value"]["body"][0]["text"]


@pytest.mark.parametrize(
    ("value", "inputs", "expected"),
    [
        (ActionValue(7, 3, ActionKind.RESOLVE), None, (ActionKind.RESOLVE, None)),
        (ActionValue(7, 3, ActionKind.SILENCE, "1h"), None, (ActionKind.SILENCE, "1h")),
        (
            ActionValue(7, 3, ActionKind.SILENCE, "4h"),
            {CUSTOM_SILENCE_INPUT_ID: "9"},
            (ActionKind.SILENCE, "4h"),
        ),
        (
            ActionValue(7, 3, ActionKind.SILENCE, "custom"),
            {CUSTOM_SILENCE_INPUT_ID: "2.5"},
            (ActionKind.SILENCE, "2h30m"),
        ),
        (ActionValue(7, 3, ActionKind.ESCALATE), None, (ActionKind.ESCALATE, None)),
        (
            ActionValue(7, 3, ActionKind.RUN_PLAYBOOK, "restart-pods"),
            None,
            (ActionKind.RUN_PLAYBOOK, "restart-pods"),
        ),
        (ActionValue(7, 3, ActionKind.MERGE, "12"), None, (ActionKind.MERGE, "12")),
        (ActionValue(7, 3, ActionKind.APPROVE_RUN, "41"), None, (ActionKind.APPROVE_RUN, "41")),
    ],
)
async def test_every_card_action_reaches_the_action_layer(
    teams: TeamsApp,
    fake: FakeTeams,
    actions: RecordingActions,
    value: ActionValue,
    inputs: dict[str, Any] | None,
    expected: tuple[ActionKind, str | None],
) -> None:
    status, _ = await teams.send(execute(fake, value, inputs=inputs))
    assert status == 200
    [call] = actions.calls
    assert call.args == (7, 3, *expected)


async def test_a_custom_silence_without_hours_asks_for_them(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions
) -> None:
    status, body = await teams.send(execute(fake, ActionValue(7, 3, ActionKind.SILENCE, "custom")))
    assert status == 200
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "how many hours" in body["value"]
    assert actions.calls == []


@pytest.mark.parametrize(
    ("outcome", "says"),
    [
        (ActionOutcome(Outcome.NOT_ALLOWED, "only sre-oncall may escalate"), "only sre-oncall may escalate"),
        (ActionOutcome(Outcome.ALREADY_HANDLED, "acknowledged by bo at 12:01"), "Someone already handled"),
        (ActionOutcome(Outcome.STALE), "out of date"),
    ],
)
async def test_refusals_are_answered_to_the_clicker(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions, outcome: ActionOutcome, says: str
) -> None:
    actions.outcome = outcome
    status, body = await teams.send(execute(fake, ActionValue(7, 3, ActionKind.ESCALATE)))
    assert status == 200
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert says in body["value"]


async def test_a_button_nocbot_does_not_know_is_answered_not_acted_on(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions
) -> None:
    click = execute(fake, ActionValue(7, 3, ActionKind.ACKNOWLEDGE))
    click["value"]["action"]["data"] = {"incident": "7", "action": "reboot"}
    status, body = await teams.send(click)
    assert status == 200
    assert "not one nocbot understands" in body["value"]
    assert actions.calls == []


async def test_a_failing_action_layer_is_said_not_leaked(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions
) -> None:
    actions.fail = True
    status, body = await teams.send(execute(fake, ActionValue(7, 3, ActionKind.RESOLVE)))
    assert status == 200
    assert "internal error" in body["value"]
    assert "broke" not in body["value"]


async def test_a_legacy_submit_acts_and_replies_a_refusal_in_the_thread(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions
) -> None:
    actions.outcome = ActionOutcome(Outcome.NOT_ALLOWED, "only sre-oncall may resolve")
    submit = activity(
        fake,
        "message",
        conversation=f"{INCIDENTS};messageid=1731000000001",
        replyToId="1731000000001",
        value=ActionValue(7, 3, ActionKind.RESOLVE).as_dict(),
    )
    status, _ = await teams.send(submit)
    assert status == 202
    [call] = await actions.wait_for_calls(1)
    assert call.args == (7, 3, ActionKind.RESOLVE, None)
    assert call.actor.user_id == ANA_AAD
    await fake.wait_until(lambda: bool(fake.calls_of("reply")))
    [reply] = fake.calls_of("reply")
    assert reply.activity_id == submit["id"]
    assert "only sre-oncall may resolve" in reply.body["text"]


# -- inbound: questions and commands --------------------------------------------------------------


async def test_a_question_is_asked_and_answered_in_the_thread(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions
) -> None:
    status, _ = await teams.send(mention(fake, "how many incidents yesterday?"))
    assert status == 202
    [call] = await actions.wait_for_calls(1)
    assert (call.name, call.args) == ("ask", ("how many incidents yesterday?",))
    assert call.actor.user_id == ANA_AAD
    await fake.wait_until(lambda: bool(fake.calls_of("reply")))
    [reply] = fake.calls_of("reply")
    assert (reply.conversation, reply.activity_id) == (
        f"{INCIDENTS};messageid=1731000000777",
        "1731000000777",
    )
    assert reply.body["text"] == "42 incidents"
    assert reply.body["textFormat"] == "plain"


@pytest.mark.parametrize(
    ("words", "name"),
    [
        ("status", "status"),
        ("silence service=search for 2h because reindex", "silence"),
        ("ask what broke?", "ask"),
    ],
)
async def test_commands_work_like_slacks(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions, words: str, name: str
) -> None:
    await teams.send(mention(fake, words))
    [call] = await actions.wait_for_calls(1)
    assert call.name == name
    if name == "silence":
        matchers, duration, reason = call.args
        assert matchers == (Matcher.parse("service=search"),)
        assert (duration, reason) == (timedelta(hours=2), "reindex")
    await fake.wait_until(lambda: bool(fake.calls_of("reply")))


async def test_help_and_bad_commands_get_the_usage(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions
) -> None:
    await teams.send(mention(fake, "silence everything"))
    await fake.wait_until(lambda: bool(fake.calls_of("reply")))
    [reply] = fake.calls_of("reply")
    assert "say how long" in reply.body["text"]
    assert "@nocbot status" in reply.body["text"]
    assert actions.calls == []


# -- authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNz",
    ],
)
async def test_requests_without_a_valid_token_are_refused(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions, authorization: str | None
) -> None:
    status, _ = await teams.send(execute(fake, ActionValue(7, 3, ActionKind.RESOLVE)), token=authorization)
    assert status == 401
    assert actions.calls == []


@pytest.mark.parametrize(
    "forge",
    [
        lambda fake: fake.channel_token(audience="someone-elses-bot"),
        lambda fake: fake.channel_token(lifetime=-3600),  # expired an hour ago, beyond the 5 min skew
        lambda fake: fake.channel_token(issuer="https://evil.example"),
        lambda fake: fake.channel_token(service_url="https://evil.example/"),
        lambda fake: fake.channel_token(key=signing_key()),  # signed with a key Teams did not publish
        lambda fake: fake.channel_token(key=signing_key(), kid="other-key"),
    ],
    ids=["audience", "expired", "issuer", "service-url", "signature", "unknown-key"],
)
async def test_forged_tokens_are_refused(
    teams: TeamsApp, fake: FakeTeams, actions: RecordingActions, forge: Any
) -> None:
    token = forge(fake)
    status, _ = await teams.send(
        execute(fake, ActionValue(7, 3, ActionKind.RESOLVE)), token=f"Bearer {token}"
    )
    assert status == 401
    assert actions.calls == []
    assert await stored_conversations(teams.store) == {}


async def test_a_key_not_endorsed_for_teams_is_refused(
    store: Store, clock: FixedClock, cards: Cards, actions: RecordingActions
) -> None:
    async with (
        FakeTeams(endorsements=["webchat"]) as fake,
        serve_teams(store, clock, cards, actions, fake) as teams,
    ):
        status, _ = await teams.send(execute(fake, ActionValue(7, 3, ActionKind.RESOLVE)))
    assert status == 401
    assert actions.calls == []


async def test_anonymous_mode_takes_requests_without_a_token(
    store: Store, clock: FixedClock, cards: Cards, actions: RecordingActions
) -> None:
    async with (
        FakeTeams(require_token=False) as fake,
        serve_teams(
            store, clock, cards, actions, fake, anonymous=True, app_id=None, app_password=None
        ) as teams,
    ):
        await add_incident(store, cards, Incident(7, version=3))
        status, body = await teams.send(execute(fake, ActionValue(7, 3, ActionKind.ACKNOWLEDGE)), token=None)
        assert status == 200
        assert body["type"] == "application/vnd.microsoft.card.adaptive"
        fake.add_team(TEAM, [(TEAM, None), (INCIDENTS, "Incidents")])
        assert (await teams.send(bot_added(fake), token=None))[0] == 202
        await wait_for_channels(store, 2)
        await queue_card(store, clock, 7)
        await teams.deliver_all()
        [send] = fake.calls_of("send")
        assert send.authorization is None
        assert fake.calls_of("token") == []
