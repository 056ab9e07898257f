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


def test_an_answer_with_rows_is_a_table_with_its_sql_last() -> None:
    from bot.actions import ChatReply
    from bot.slack.replies import reply_text

    reply = ChatReply(
        "3 services had incidents.",
        ("2026-11-19 00:00 – 2026-11-26 00:00 (exact data)",),
        columns=("service", "incidents"),
        rows=(("checkout", "4"), ("payments", "2"), ("<search>", "1")),
        sql="SELECT service,\n count(*) FROM incidents WHERE opened_at >= ?",
    )
    text = reply_text(reply)
    lines = text.splitlines()
    assert lines[0] == "3 services had incidents."
    assert "service   incidents" in text and "checkout  4" in text
    assert "&lt;search&gt;" in text, "cells are escaped: alert text can neither link nor ping"
    # escaped in code too: Slack shows &gt; as >
    assert lines[-1] == ">SQL: `SELECT service, count(*) FROM incidents WHERE opened_at &gt;= ?`"


def test_a_long_table_is_cut_with_a_count_of_what_was_left_out() -> None:
    from bot.actions import ChatReply
    from bot.slack.replies import MAX_TABLE_ROWS, reply_text

    rows = tuple((f"host-{n}", str(n)) for n in range(100))
    text = reply_text(ChatReply("100 hosts.", columns=("host", "alerts"), rows=rows))
    assert f"and {100 - MAX_TABLE_ROWS} more rows" in text
    assert "host-99" not in text
    assert len(text) <= 3900
