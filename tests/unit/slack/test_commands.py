"""/nocbot's text and @mention text, read into commands."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.slack.commands import Ask, Help, Silence, Status, mention_question, parse_command, unescape
from engine.clustering.silences import Matcher


def test_ask_status_and_help() -> None:
    assert parse_command("ask how many P1 incidents last week?") == Ask("how many P1 incidents last week?")
    assert parse_command("  ASK   why?  ") == Ask("why?")
    assert parse_command("status") == Status()
    assert parse_command("") == Help()
    assert parse_command("help") == Help()


def test_silence_with_quoted_matchers_commas_and_a_reason() -> None:
    command = parse_command(
        'silence service=search, alertname=~"Disk .*|Inode" for 1h 30m because reindex for real'
    )
    assert command == Silence(
        (Matcher.parse("service=search"), Matcher.parse('alertname=~"Disk .*|Inode"')),
        timedelta(minutes=90),
        "reindex for real",
    )


def test_the_last_for_before_because_splits_matchers_from_duration() -> None:
    command = parse_command('silence job="for" for 2h')
    assert isinstance(command, Silence)
    assert command.matchers == (Matcher.parse('job="for"'),)
    assert command.duration == timedelta(hours=2)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ask", "ask what?"),
        ("status now", "status takes nothing"),
        ("page everyone", "unknown command 'page'"),
        ("silence service=a", "say how long"),
        ("silence for 2h", "say what to silence"),
        ("silence service=a for", "say how long after 'for'"),
        ("silence service=a for ever", "not a duration: 'ever'"),
        ("silence service=a for 500d", "between 1 minute and 366 days"),
        ("silence service for 2h", "not a label matcher: 'service'"),
        ('silence job=~"(" for 2h', "bad regular expression"),
        ("silence service=a for 2h because", "say why after 'because'"),
    ],
)
def test_a_malformed_command_says_what_is_wrong(text: str, problem: str) -> None:
    command = parse_command(text)
    assert isinstance(command, Help)
    assert command.problem is not None and problem in command.problem


def test_slack_escapes_are_undone() -> None:
    assert unescape("p99 &gt; 500ms &amp;&amp; errors &lt; 1%") == "p99 > 500ms && errors < 1%"


def test_only_the_bots_own_mention_is_removed() -> None:
    text = "<@U0BOT> what did <@U0ANA> deploy &gt; yesterday?"
    assert mention_question(text, "U0BOT") == "what did <@U0ANA> deploy > yesterday?"
    assert mention_question("<@U0BOT|nocbot> hi <@U0BOT>", "U0BOT") == "hi"
    assert mention_question("<@U0BOT> what did <@U0ANA> deploy?", None) == "what did <@U0ANA> deploy?"
