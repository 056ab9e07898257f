"""Reading questions out of Teams mentions, and what nocbot says back."""

from __future__ import annotations

from typing import Any

import pytest

from bot.actions import ActionOutcome, ChatReply, Outcome
from bot.slack.commands import Ask, Help, Silence, Status
from bot.teams.text import bot_mentions, command_of, question_text, refusal, reply_text

BOT = "28:bot"
ENTITIES: list[dict[str, Any]] = [
    {"type": "mention", "text": "<at>nocbot</at>", "mentioned": {"id": BOT, "name": "nocbot"}},
    {"type": "mention", "text": "<at>Ana Lima</at>", "mentioned": {"id": "29:ana", "name": "Ana Lima"}},
    {"type": "clientInfo", "locale": "en-US"},
]


def test_the_bots_mention_goes_and_other_mentions_keep_their_names() -> None:
    mentions = bot_mentions(ENTITIES, BOT)
    assert mentions == ["<at>nocbot</at>"]
    text = "<p><at>nocbot</at> what did <at>Ana Lima</at> deploy &amp; when?</p>"
    assert question_text(text, mentions) == "what did Ana Lima deploy & when?"


def test_without_entities_a_leading_mention_is_the_bot() -> None:
    assert question_text("<at>noc</at>  status\n", []) == "status"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("how many P1 incidents last week?", Ask("how many P1 incidents last week?")),
        ("ask what broke?", Ask("what broke?")),
        ("Status", Status()),
        ("", Help()),
        ("help", Help()),
    ],
)
def test_commands_and_questions(text: str, command: object) -> None:
    assert command_of(text) == command


def test_silence_is_parsed_like_slacks() -> None:
    command = command_of("silence service=search for 2h because reindex")
    assert isinstance(command, Silence)
    assert command.reason == "reindex"


def test_refusals_say_why_and_done_says_nothing() -> None:
    assert refusal(ActionOutcome(Outcome.DONE)) is None
    said = refusal(ActionOutcome(Outcome.NOT_ALLOWED, "only <sre> & co"))
    assert said == "You are not allowed to do that. only <sre> & co"  # plain text: nothing escaped
    assert refusal(None) is not None and "internal error" in (refusal(None) or "")


def test_replies_carry_details_and_suggestions() -> None:
    reply = ChatReply("Not sure.", details=("last 7 days",), answered=False, suggestions=("how many P1?",))
    assert reply_text(reply) == "Not sure.\nlast 7 days\nTry: how many P1?"
