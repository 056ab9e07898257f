"""What the Teams surface reads from people and says back: questions and commands out of an
@mention, refusals, answers, usage. Pure; cards are rendered by integrations.teams_cards.

Everything nocbot writes in Teams messages is sent as plain text (`textFormat: plain`), so alert
text and people's words can neither format nor link, and nothing needs escaping.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.actions import ActionOutcome, ChatReply
from bot.slack import replies
from bot.slack.commands import Ask, Command, Help, parse_command

FAILED = replies.FAILED
UNKNOWN_BUTTON = replies.UNKNOWN_BUTTON
DONE = "Done."
STILL_WORKING = "nocbot is still working on that; the card will show the result."
USAGE = "\n".join(
    (
        "@nocbot <question> — e.g. @nocbot how many P1 incidents last week?",
        "@nocbot silence <matchers> for <duration> [because <reason>] — "
        'e.g. @nocbot silence service=search alertname=~"Disk.*" for 2h because reindex',
        "@nocbot status — open incidents and silences now",
    )
)
_VERBS = frozenset({"ask", "silence", "status", "help"})
_LEADING_MENTION = re.compile(r"^\s*(?:<p>\s*)?<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_MENTION = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]{0,500}>")
_BLANKS = re.compile(r"\s+")


def question_text(text: str, bot_mentions: Iterable[str]) -> str:
    """The words of "<at>nocbot</at> what broke?" without the bot's mention, as plain text.

    `bot_mentions` are the mention texts that name the bot ("<at>nocbot</at>", from the activity's
    mention entities); other people's mentions keep their name. Without any, a leading mention is
    taken to be the bot (Teams only delivers channel messages that mention it).
    """
    mentions = [mention for mention in bot_mentions if mention]
    for mention in mentions:
        text = text.replace(mention, " ")
    if not mentions:
        text = _LEADING_MENTION.sub(" ", text, count=1)
    text = _MENTION.sub(lambda match: match.group(1), text)
    text = _TAG.sub(" ", text)
    return _BLANKS.sub(" ", html.unescape(text)).strip()


def command_of(text: str) -> Command:
    """A command when the text starts with one of /nocbot's verbs, else the whole text is a question."""
    verb = text.split(maxsplit=1)[0].lower() if text.strip() else ""
    if not verb:
        return Help()
    if verb in _VERBS:
        return parse_command(text)
    return Ask(text)


def bot_mentions(entities: Iterable[Mapping[str, Any]], bot_id: str | None) -> list[str]:
    """The texts of the mention entities (as JSON) that name the bot."""
    found = []
    for entity in entities:
        mentioned = entity.get("mentioned")
        text = entity.get("text")
        if (
            str(entity.get("type")).lower() == "mention"
            and isinstance(mentioned, Mapping)
            and bot_id is not None
            and mentioned.get("id") == bot_id
            and isinstance(text, str)
        ):
            found.append(text)
    return found


def refusal(outcome: ActionOutcome | None) -> str | None:
    """Why it was not done (None: done, and the card shows it)."""
    if outcome is None:
        return FAILED
    if not outcome.refused:
        return None
    lead = replies.refusal(ActionOutcome(outcome.outcome)) or FAILED  # the shared wording, unescaped
    return f"{lead} {outcome.message}" if outcome.message else lead


def done_text(outcome: ActionOutcome | None, default: str) -> str:
    return outcome.message if outcome is not None and outcome.message else default


def reply_text(reply: ChatReply) -> str:
    lines = [reply.text, *reply.details]
    if reply.suggestions:
        lines.append("Try: " + " · ".join(reply.suggestions))
    return "\n".join(lines)


def usage_text(problem: str | None = None) -> str:
    return f"{problem}\n\n{USAGE}" if problem else USAGE
