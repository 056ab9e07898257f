"""The Slack surface against a fake Slack on loopback: signed requests in, Web API calls out.

Inbound: button clicks, the silence menu and modal, /nocbot, @mentions and Socket Mode reach the
action layer with the right actor, after an acknowledgement that does not wait for it; forged,
stale or unsigned requests reach nothing. Outbound: cards are posted, updated in place and
answered in threads exactly once, in order per channel, through rate limits and server errors.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionOutcome, Outcome, Surface
from bot.slack import replies
from bot.slack.delivery import PostedMessage, SlackPoster
from bot.slack.errors import SlackRejected, SlackUnavailable
from bot.slack.pacing import ChannelPacer
from bot.slack.retry import Retrier, RetryPolicy
from engine.clustering.silences import Matcher
from engine.view import ActionKind, ActionValue
from tests.fakes import slack_signing as signing
from tests.fakes.chat_actions import RecordingActions
from tests.fakes.slack_api import BOT_TOKEN, BOT_USER_ID, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET, SlackApp, serve_slack, slack_settings

ANA = "U0ANA0001"
EVENTS = "/slack/events"
CARD = [{"type": "section", "text": {"type": "mrkdwn", "text": "card"}}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        slack.add_channel("incidents")
        slack.add_channel("db-critical")
        slack.add_user(ANA, "Ana Lima", groups=["sre-oncall", "payments"])
        yield slack


@pytest.fixture
def actions() -> RecordingActions:
    return RecordingActions()


@pytest.fixture
async def slack(fake: FakeSlack, actions: RecordingActions) -> AsyncIterator[SlackApp]:
    async with serve_slack(slack_settings(fake), actions) as app:
        await fake.wait_until(lambda: bool(fake.calls_to("auth.test")))  # the token check at start
        yield app


async def send(app: SlackApp, request: signing.SignedRequest) -> tuple[int, str]:
    response = await app.client.post(EVENTS, data=request.body.encode(), headers=request.headers)
    return response.status, await response.text()


def click(
    fake: FakeSlack, value: ActionValue, action_id: str, *, menu: bool = False
) -> signing.SignedRequest:
    payload = signing.block_actions_payload(
        action_id=action_id, value=value.encode(), response_url=fake.response_url("click"), menu=menu
    )
    return signing.interactive_request(payload, SIGNING_SECRET)


# -- buttons -------------------------------------------------------------------------------------------


async def test_a_click_is_acknowledged_before_the_action_layer_is_done(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    actions.delay = 0.5
    started = time.perf_counter()
    status, _ = await send(
        slack, click(fake, ActionValue(7, 3, ActionKind.ACKNOWLEDGE), "nocbot.acknowledge")
    )
    acked_after = time.perf_counter() - started

    assert status == 200
    assert acked_after < 3.0
    assert actions.calls == []  # Slack was answered before the work was done
    [call] = await actions.wait_for_calls(1)
    assert call.name == "act"
    assert call.args == (7, 3, ActionKind.ACKNOWLEDGE, None)
    assert call.actor.surface is Surface.SLACK
    assert call.actor.user_id == ANA
    assert call.actor.display_name == "Ana Lima"
    assert call.actor.groups == frozenset({"sre-oncall", "payments"})
    await asyncio.sleep(0.1)
    assert fake.responses == []  # done: the card update says so, nothing is said privately


@pytest.mark.parametrize(
    ("value", "action_id", "menu", "expected"),
    [
        (ActionValue(7, 3, ActionKind.RESOLVE), "nocbot.resolve", False, (ActionKind.RESOLVE, None)),
        (ActionValue(7, 3, ActionKind.SILENCE, "1h"), "nocbot.silence", True, (ActionKind.SILENCE, "1h")),
        (ActionValue(7, 3, ActionKind.SILENCE, "4h"), "nocbot.silence", True, (ActionKind.SILENCE, "4h")),
        (ActionValue(7, 3, ActionKind.ESCALATE), "nocbot.escalate", False, (ActionKind.ESCALATE, None)),
        (
            ActionValue(7, 3, ActionKind.RUN_PLAYBOOK, "restart-pods"),
            "nocbot.playbook.0",
            False,
            (ActionKind.RUN_PLAYBOOK, "restart-pods"),
        ),
        (ActionValue(7, 3, ActionKind.SPLIT), "nocbot.split", False, (ActionKind.SPLIT, None)),
        (ActionValue(7, 3, ActionKind.MERGE, "12"), "nocbot.merge.12", False, (ActionKind.MERGE, "12")),
    ],
)
async def test_every_card_action_reaches_the_action_layer(
    fake: FakeSlack,
    actions: RecordingActions,
    slack: SlackApp,
    value: ActionValue,
    action_id: str,
    menu: bool,
    expected: tuple[ActionKind, str | None],
) -> None:
    status, _ = await send(slack, click(fake, value, action_id, menu=menu))
    assert status == 200
    [call] = await actions.wait_for_calls(1)
    assert call.args == (7, 3, *expected)


@pytest.mark.parametrize(
    ("outcome", "says"),
    [
        (ActionOutcome(Outcome.NOT_ALLOWED, "only sre-oncall may escalate"), "only sre-oncall may escalate"),
        (ActionOutcome(Outcome.ALREADY_HANDLED, "acknowledged by bo at 12:01"), "Someone already handled"),
        (ActionOutcome(Outcome.STALE), "out of date"),
    ],
)
async def test_refusals_are_said_privately(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp, outcome: ActionOutcome, says: str
) -> None:
    actions.outcome = outcome
    await send(slack, click(fake, ActionValue(7, 3, ActionKind.ESCALATE), "nocbot.escalate"))
    await fake.wait_until(lambda: len(fake.responses) == 1)
    hook, body = fake.responses[0]
    assert hook == "click"
    assert body["response_type"] == "ephemeral"
    assert body["replace_original"] is False
    assert says in body["text"]


async def test_a_failing_action_layer_is_reported_privately(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    actions.fail = True
    await send(slack, click(fake, ActionValue(7, 3, ActionKind.RESOLVE), "nocbot.resolve"))
    await fake.wait_until(lambda: len(fake.responses) == 1)
    assert fake.responses[0][1]["text"] == replies.FAILED


async def test_a_button_nocbot_did_not_draw_is_refused_without_acting(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    payload = signing.block_actions_payload(
        action_id="nocbot.acknowledge", value='{"incident": "7"}', response_url=fake.response_url("odd")
    )
    status, _ = await send(slack, signing.interactive_request(payload, SIGNING_SECRET))
    assert status == 200
    await fake.wait_until(lambda: len(fake.responses) == 1)
    assert fake.responses[0][1]["text"] == replies.UNKNOWN_BUTTON
    assert actions.calls == []


async def test_custom_silence_asks_for_a_duration_in_a_modal(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    await send(
        slack, click(fake, ActionValue(7, 3, ActionKind.SILENCE, "custom"), "nocbot.silence", menu=True)
    )
    await fake.wait_until(lambda: len(fake.views) == 1)
    assert fake.views[0]["trigger_id"] == "1337.42.abcdef"
    view = fake.views[0]["view"]
    assert actions.calls == []

    bad = signing.view_submission_payload(view=view, duration="a while")
    status, body = await send(slack, signing.interactive_request(bad, SIGNING_SECRET))
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert "not a duration" in answer["errors"]["duration"]

    good = signing.interactive_request(
        signing.view_submission_payload(view=view, duration="90m"), SIGNING_SECRET
    )
    status, _ = await send(slack, good)
    assert status == 200
    [call] = await actions.wait_for_calls(1)
    assert call.args == (7, 3, ActionKind.SILENCE, "1h30m")
    assert call.actor.user_id == ANA


async def test_a_refused_custom_silence_is_said_privately_in_the_cards_channel(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    actions.outcome = ActionOutcome(Outcome.NOT_ALLOWED, "silences need the sre-oncall group")
    await send(
        slack, click(fake, ActionValue(7, 3, ActionKind.SILENCE, "custom"), "nocbot.silence", menu=True)
    )
    await fake.wait_until(lambda: len(fake.views) == 1)
    submitted = signing.view_submission_payload(view=fake.views[0]["view"], duration="2h")
    await send(slack, signing.interactive_request(submitted, SIGNING_SECRET))
    await fake.wait_until(lambda: len(fake.ephemerals) == 1)
    ephemeral = fake.ephemerals[0]
    assert (ephemeral["channel"], ephemeral["user"]) == ("C00000001", ANA)
    assert "sre-oncall group" in ephemeral["text"]


async def test_when_slack_cannot_say_who_clicked_the_actor_has_no_groups(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    fake.fail(seconds=30, status=500, methods={"users.info", "usergroups.list"})
    await send(slack, click(fake, ActionValue(7, 3, ActionKind.ESCALATE), "nocbot.escalate"))
    [call] = await actions.wait_for_calls(1)
    assert (call.actor.user_id, call.actor.display_name, call.actor.groups) == (ANA, "ana", frozenset())


async def test_a_dialog_that_cannot_open_is_reported(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    fake.fail(next_calls=1, status=500, methods={"views.open"})
    await send(
        slack, click(fake, ActionValue(7, 3, ActionKind.SILENCE, "custom"), "nocbot.silence", menu=True)
    )
    await fake.wait_until(lambda: len(fake.responses) == 1)
    assert fake.responses[0][1]["text"] == replies.FAILED
    assert actions.calls == []


# -- signatures ----------------------------------------------------------------------------------------


def _tampered(request: signing.SignedRequest, **headers: str | None) -> signing.SignedRequest:
    changed = {**request.headers, **headers}
    return signing.SignedRequest(request.body, {k: v for k, v in changed.items() if v is not None})


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda r: signing.interactive_request(_payload(), "wrong-secret"), id="forged"),
        pytest.param(
            lambda r: signing.interactive_request(
                _payload(), SIGNING_SECRET, timestamp=int(time.time()) - 301
            ),
            id="stale",
        ),
        pytest.param(lambda r: _tampered(r, **{"X-Slack-Signature": None}), id="no-signature"),
        pytest.param(lambda r: _tampered(r, **{"X-Slack-Request-Timestamp": None}), id="no-timestamp"),
        pytest.param(lambda r: _tampered(r, **{"X-Slack-Request-Timestamp": "soon"}), id="bad-timestamp"),
        pytest.param(lambda r: signing.SignedRequest(r.body + "&x=1", r.headers), id="body-changed"),
    ],
)
async def test_unverified_requests_are_401_and_reach_nothing(
    fake: FakeSlack,
    actions: RecordingActions,
    slack: SlackApp,
    forge: Callable[[signing.SignedRequest], signing.SignedRequest],
) -> None:
    genuine = signing.interactive_request(_payload(), SIGNING_SECRET)
    calls_before = len(fake.calls)
    status, _ = await send(slack, forge(genuine))
    assert status == 401
    await asyncio.sleep(0.1)
    assert actions.calls == []
    assert fake.calls[calls_before:] == []  # no Web API call either


def _payload() -> dict[str, object]:
    value = ActionValue(7, 3, ActionKind.ESCALATE).encode()
    return signing.block_actions_payload(action_id="nocbot.escalate", value=value)


async def test_without_a_signing_secret_the_endpoint_is_closed(
    fake: FakeSlack, actions: RecordingActions
) -> None:
    # with an empty secret anyone could sign; Socket Mode alone must not open HTTP
    async with serve_slack(slack_settings(fake, http=False), actions) as app:
        status, _ = await send(app, signing.interactive_request(_payload(), ""))
    assert status == 404
    assert actions.calls == []


async def test_url_verification_echoes_the_challenge_when_signed(slack: SlackApp) -> None:
    payload = signing.url_verification_payload("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    status, body = await send(slack, signing.event_request(payload, SIGNING_SECRET))
    assert status == 200
    assert json.loads(body)["challenge"] == payload["challenge"]
    status, _ = await send(slack, signing.event_request(payload, "not-the-secret"))
    assert status == 401


# -- the slash command ---------------------------------------------------------------------------------


def command(fake: FakeSlack, text: str) -> signing.SignedRequest:
    payload = signing.slash_command_payload(text=text, response_url=fake.response_url("cmd"))
    return signing.slash_command_request(payload, SIGNING_SECRET)


async def test_slash_ask_reaches_ask_and_answers_privately(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    status, _ = await send(slack, command(fake, "ask how many incidents had latency > 500ms yesterday?"))
    assert status == 200
    [call] = await actions.wait_for_calls(1)
    assert call.name == "ask"
    assert call.args == ("how many incidents had latency > 500ms yesterday?",)
    assert call.actor.display_name == "Ana Lima"
    await fake.wait_until(lambda: len(fake.responses) == 1)
    assert fake.responses[0][1]["text"] == "42 incidents"


async def test_slash_silence_and_status(fake: FakeSlack, actions: RecordingActions, slack: SlackApp) -> None:
    actions.outcome = ActionOutcome(Outcome.DONE, "Silenced until 14:00 UTC (silence #5)")
    await send(slack, command(fake, 'silence service=search alertname=~"Disk.*" for 2h because reindex'))
    [silence] = await actions.wait_for_calls(1)
    assert silence.name == "silence"
    assert silence.args == (
        (Matcher.parse("service=search"), Matcher.parse('alertname=~"Disk.*"')),
        timedelta(hours=2),
        "reindex",
    )
    await fake.wait_until(lambda: len(fake.responses) == 1)
    assert fake.responses[0][1]["text"] == "Silenced until 14:00 UTC (silence #5)"

    await send(slack, command(fake, "status"))
    calls = await actions.wait_for_calls(2)
    assert calls[1].name == "status"


async def test_a_malformed_command_gets_usage_at_once_and_calls_nothing(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    status, body = await send(slack, command(fake, "silence service=search for ever"))
    assert status == 200
    assert "not a duration" in body
    assert "/nocbot ask" in body
    await asyncio.sleep(0.1)
    assert actions.calls == []


# -- @mentions -----------------------------------------------------------------------------------------


async def test_a_mention_is_answered_once_in_its_thread(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    channel = next(iter(fake.channels))
    event = signing.app_mention_event(
        text="what broke in payments?", channel_id=channel, ts="1700000001.000200"
    )
    request = signing.event_request(signing.event_callback_payload(event, event_id="Ev01"), SIGNING_SECRET)
    status, _ = await send(slack, request)
    assert status == 200
    [call] = await actions.wait_for_calls(1)
    assert (call.name, call.args, call.actor.user_id) == ("ask", ("what broke in payments?",), ANA)
    await fake.wait_until(lambda: bool(fake.calls_to("chat.postMessage")))
    posted = fake.calls_to("chat.postMessage")[0].args
    assert (posted["channel"], posted["thread_ts"], posted["text"]) == (
        channel,
        "1700000001.000200",
        "42 incidents",
    )

    # Slack re-delivers an event it thinks went unanswered: answered once all the same
    status, _ = await send(slack, request)
    assert status == 200
    await asyncio.sleep(0.2)
    assert len(actions.calls) == 1


async def test_the_bot_mention_is_the_bots_own(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    event = signing.app_mention_event(text=f"what did <@{ANA}> deploy?")
    await send(
        slack, signing.event_request(signing.event_callback_payload(event, event_id="Ev02"), SIGNING_SECRET)
    )
    [call] = await actions.wait_for_calls(1)
    assert call.args == (f"what did <@{ANA}> deploy?",)
    assert BOT_USER_ID not in call.args[0]


async def test_other_bots_mentions_are_not_answered(
    fake: FakeSlack, actions: RecordingActions, slack: SlackApp
) -> None:
    event = signing.app_mention_event(text="deploy finished")
    del event["user"]
    event["bot_id"] = "B0OTHER01"
    await send(
        slack, signing.event_request(signing.event_callback_payload(event, event_id="Ev03"), SIGNING_SECRET)
    )
    await asyncio.sleep(0.2)
    assert actions.calls == []
    assert fake.calls_to("chat.postMessage") == []


# -- Socket Mode ---------------------------------------------------------------------------------------


async def test_socket_mode_acknowledges_envelopes_and_acts(
    fake: FakeSlack, actions: RecordingActions
) -> None:
    async with serve_slack(slack_settings(fake, http=False, socket=True), actions):
        await fake.wait_until(lambda: fake.socket_connected)
        value = ActionValue(9, 1, ActionKind.ACKNOWLEDGE).encode()
        payload = signing.block_actions_payload(action_id="nocbot.acknowledge", value=value)
        envelope = await fake.send_envelope("interactive", payload)
        await fake.wait_until(lambda: any(a.get("envelope_id") == envelope for a in fake.socket_acks))
        [call] = await actions.wait_for_calls(1)
        assert call.args == (9, 1, ActionKind.ACKNOWLEDGE, None)
        assert [c.method for c in fake.calls].count("apps.connections.open") == 1


# -- delivery ------------------------------------------------------------------------------------------


def poster(
    fake: FakeSlack, *, interval: float = 0.05, token: str = BOT_TOKEN, **policy: float
) -> SlackPoster:
    client = AsyncWebClient(token=token, base_url=fake.api_url, retry_handlers=[])
    retry = RetryPolicy(**{"base_delay": 0.05, "max_delay": 0.2, **policy})  # type: ignore[arg-type]
    return SlackPoster(client, retrier=Retrier(retry), pacer=ChannelPacer(interval))


async def test_a_card_is_posted_then_updated_in_place_and_replied_to(fake: FakeSlack) -> None:
    slack = poster(fake)
    posted = await slack.post_card("#incidents", text="P2 checkout", blocks=CARD, key="outbox-1")
    channel_id = next(cid for cid, c in fake.channels.items() if c.name == "incidents")
    assert posted.channel == channel_id  # recorded by id, whatever the route named

    updated = await slack.update_card(posted, text="P2 checkout — acknowledged", blocks=CARD)
    reply = await slack.post_reply(posted, text="Acknowledged by Ana", key="outbox-2")

    assert updated == posted
    [card] = fake.messages(channel_id)
    assert (card["ts"], card["text"]) == (posted.ts, "P2 checkout — acknowledged")
    assert [r["text"] for r in fake.replies(channel_id, posted.ts)] == ["Acknowledged by Ana"]
    assert reply == PostedMessage(channel_id, reply.ts, thread_ts=posted.ts)


async def test_storms_of_429_and_500_deliver_every_message_once_in_order(fake: FakeSlack) -> None:
    slack = poster(fake)
    posts = {"chat.postMessage"}
    fake.rate_limit(seconds=1.5, retry_after=1, methods=posts)  # first a 429 storm, then
    fake.fail(next_calls=2, status=500, methods=posts)  # errors where Slack did nothing, then
    fake.fail(next_calls=2, status=503, after_processing=True, methods=posts)  # posted, answer lost

    async def send_all(channel: str) -> list[PostedMessage]:
        # handed over all at once, as a worker draining its outbox: the order is the hand-over order
        return list(
            await asyncio.gather(
                *(
                    slack.post_card(channel, text=f"{channel} {n}", blocks=CARD, key=f"{channel}-{n}")
                    for n in range(3)
                )
            )
        )

    results = await asyncio.gather(send_all("#incidents"), send_all("#db-critical"))

    statuses = [call.status for call in fake.calls_to("chat.postMessage")]
    assert statuses.count(429) >= 2 and statuses.count(500) == 2 and statuses.count(503) == 2
    for channel, sent in zip(("#incidents", "#db-critical"), results, strict=True):
        messages = fake.messages(sent[0].channel)
        assert [m["text"] for m in messages] == [f"{channel} {n}" for n in range(3)]  # once each, in order
        assert [m["ts"] for m in messages] == [s.ts for s in sent]


async def test_an_uncertain_failure_is_checked_before_posting_again(fake: FakeSlack) -> None:
    slack = poster(fake)
    fake.fail(next_calls=1, status=502, after_processing=True, methods={"chat.postMessage"})
    posted = await slack.post_card("#incidents", text="once", blocks=CARD, key="outbox-7")
    assert [m["ts"] for m in fake.messages(posted.channel)] == [posted.ts]
    [lookup] = fake.calls_to("conversations.history")
    assert lookup.args["include_all_metadata"] in (True, "true", "1")
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_after_a_crash_the_worker_finds_its_post_instead_of_posting_again(fake: FakeSlack) -> None:
    attempt_began = time.time()
    first = await poster(fake).post_card("#incidents", text="card", blocks=CARD, key="outbox-9")
    # the worker died before recording first.ts; a new process tries again
    again = await poster(fake).post_card(
        "#incidents", text="card", blocks=CARD, key="outbox-9", maybe_posted_since=attempt_began
    )
    assert again == first
    assert len(fake.messages(first.channel)) == 1
    assert await poster(fake).find_posted("#incidents", "outbox-9", since=attempt_began) == first
    other = await poster(fake).post_card(
        "#incidents", text="card", blocks=CARD, key="outbox-10", maybe_posted_since=attempt_began
    )
    assert other != first and len(fake.messages(first.channel)) == 2


async def test_a_reply_lost_in_a_500_is_found_in_the_thread(fake: FakeSlack) -> None:
    slack = poster(fake)
    card = await slack.post_card("#incidents", text="card", blocks=CARD, key="c")
    fake.fail(next_calls=1, status=500, after_processing=True, methods={"chat.postMessage"})
    reply = await slack.post_reply(card, text="timeline", key="r")
    assert [r["ts"] for r in fake.replies(card.channel, card.ts)] == [reply.ts]
    assert fake.calls_to("conversations.replies")


@pytest.mark.parametrize(
    ("channel", "method"), [("#no-such-channel", "conversations.list"), ("C99999999", "chat.postMessage")]
)
async def test_an_unknown_channel_is_a_final_refusal(fake: FakeSlack, channel: str, method: str) -> None:
    with pytest.raises(SlackRejected) as raised:
        await poster(fake).post_card(channel, text="x", blocks=CARD, key="k")
    assert (raised.value.method, raised.value.error) == (method, "channel_not_found")
    assert len(fake.calls) == 1


async def test_an_unknown_channel_name_is_not_listed_on_every_post(fake: FakeSlack) -> None:
    slack = poster(fake)
    for _ in range(3):
        with pytest.raises(SlackRejected):
            await slack.post_card("#no-such-channel", text="x", blocks=CARD, key="k")
    assert len(fake.calls_to("conversations.list")) == 1


async def test_a_revoked_token_is_a_final_refusal(fake: FakeSlack) -> None:
    channel_id = next(iter(fake.channels))
    with pytest.raises(SlackRejected) as raised:
        await poster(fake, token="xoxb-revoked").post_card(channel_id, text="x", blocks=CARD, key="k")
    assert (raised.value.method, raised.value.error) == ("chat.postMessage", "invalid_auth")
    assert len(fake.calls) == 1


async def test_retries_are_bounded(fake: FakeSlack) -> None:
    channel_id = next(iter(fake.channels))
    fake.fail(seconds=30, status=500, methods={"chat.postMessage"})
    with pytest.raises(SlackUnavailable):
        await poster(fake, attempts=3).post_card(channel_id, text="x", blocks=CARD, key="k")
    assert len(fake.calls_to("chat.postMessage")) == 3
    assert fake.messages(channel_id) == []


async def test_an_unreachable_slack_is_unavailable_not_a_crash() -> None:
    async with FakeSlack() as gone:
        url = gone.api_url
    client = AsyncWebClient(token=BOT_TOKEN, base_url=url, retry_handlers=[])
    slack = SlackPoster(client, retrier=Retrier(RetryPolicy(attempts=2, base_delay=0.01)))
    with pytest.raises(SlackUnavailable):
        await slack.post_card("C00000001", text="x", blocks=CARD, key="k")


async def test_each_channel_is_paced_and_the_others_are_not_held_up(fake: FakeSlack) -> None:
    slack = poster(fake, interval=0.3)
    incidents, db = list(fake.channels)
    await asyncio.gather(
        *(slack.post_card(incidents, text=f"i{n}", blocks=CARD, key=f"i{n}") for n in range(3)),
        slack.post_card(db, text="d0", blocks=CARD, key="d0"),
    )
    by_channel: dict[str, list[float]] = {}
    for call in fake.calls_to("chat.postMessage"):
        by_channel.setdefault(call.args["channel"], []).append(call.at)
    gaps = [b - a for a, b in zip(by_channel[incidents], by_channel[incidents][1:], strict=False)]
    assert all(gap >= 0.29 for gap in gaps), gaps
    assert by_channel[db][0] - by_channel[incidents][0] < 0.2  # not queued behind #incidents
    assert [m["text"] for m in fake.messages(incidents)] == ["i0", "i1", "i2"]
