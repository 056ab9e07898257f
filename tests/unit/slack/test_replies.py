"""What the Slack surface says back: refusals with their reason, answers, all escaped."""

from __future__ import annotations

from bot.actions import ActionOutcome, ChatReply, Outcome
from bot.slack.replies import FAILED, refusal, reply_text, usage_text


def test_done_needs_no_private_reply_and_a_failure_says_so() -> None:
    assert refusal(ActionOutcome(Outcome.DONE, "Acknowledged")) is None
    assert refusal(None) == FAILED


def test_a_refusal_carries_the_action_layers_reason_escaped() -> None:
    text = refusal(ActionOutcome(Outcome.NOT_ALLOWED, "only <!subteam^S1|sre> & leads"))
    assert text == "You are not allowed to do that. only &lt;!subteam^S1|sre&gt; &amp; leads"
    assert refusal(ActionOutcome(Outcome.STALE)) == (
        "This card was out of date; it is being refreshed. Check it and try again."
    )


def test_an_answer_with_details_and_suggestions() -> None:
    reply = ChatReply(
        "I could not answer <that>",
        details=("from 10:00 to 11:00 UTC",),
        answered=False,
        suggestions=("how many incidents yesterday?",),
    )
    assert reply_text(reply) == (
        "I could not answer &lt;that&gt;\n_from 10:00 to 11:00 UTC_\nTry: `how many incidents yesterday?`"
    )


def test_usage_names_the_configured_command() -> None:
    assert "*/ops ask*" in usage_text("/ops")
    assert usage_text("/ops", "unknown command 'x'").startswith("unknown command 'x'\n\n")
