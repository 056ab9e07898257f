"""The `/nocbot` slash command's text, read into a command (pure).

    /nocbot ask <question>
    /nocbot silence <matchers> for <duration> [because <reason>]
    /nocbot status
    /nocbot help

Matchers use Alertmanager's syntax (`service=payments alertname=~"Disk.*"`), separated by spaces or
commas; a quoted value may contain both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.actions import parse_duration
from engine.clustering.silences import Matcher

USAGE = "\n".join(
    (
        "*{command} ask* _question_ — e.g. `{command} ask how many P1 incidents last week?`",
        "*{command} silence* _matchers_ *for* _duration_ [*because* _reason_] — "
        'e.g. `{command} silence service=search alertname=~"Disk.*" for 2h because reindex`',
        "*{command} status* — open incidents and silences now",
    )
)

# A token is a run of non-blank characters, where a double-quoted part may hold blanks.
_TOKEN = re.compile(r'(?:[^\s"]|"(?:[^"\\]|\\.)*")+')
_MATCHER_SPLIT = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+')


@dataclass(frozen=True, slots=True)
class Ask:
    question: str


@dataclass(frozen=True, slots=True)
class Silence:
    matchers: tuple[Matcher, ...]
    duration: timedelta
    reason: str


@dataclass(frozen=True, slots=True)
class Status:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    problem: str | None = None  # what was wrong with the command, when it was wrong


Command = Ask | Silence | Status | Help

_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def unescape(text: str) -> str:
    """Undo the three escapes Slack applies to message and command text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mention_question(text: str, bot_user_id: str | None) -> str:
    """The question in "@nocbot what broke?": the text without the bot's mentions, unescaped.

    Other people's mentions stay ("what did @ana deploy?"); when the bot's id is unknown, only a
    leading mention is taken to be the bot.
    """
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    else:
        text = _LEADING_MENTION.sub(" ", text)
    return unescape(text).strip()


def parse_command(text: str) -> Command:
    verb, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    match verb.lower():
        case "ask":
            return Ask(rest) if rest else Help("ask what? e.g. ask how many incidents yesterday?")
        case "silence":
            return _silence(rest)
        case "status":
            return Status() if not rest else Help(f"status takes nothing after it, not {rest!r}")
        case "" | "help":
            return Help()
        case _:
            return Help(f"unknown command {verb!r}")


def _silence(text: str) -> Command:
    tokens = list(_TOKEN.finditer(text))
    words = [token.group().lower() for token in tokens]
    because = words.index("because") if "because" in words else len(tokens)
    fors = [index for index, word in enumerate(words[:because]) if word == "for"]
    if not fors:
        return Help("say how long: silence <matchers> for <duration>, e.g. for 2h")
    split = fors[-1]
    if split == 0:
        return Help("say what to silence before 'for', e.g. silence service=search for 2h")
    if split + 1 >= because:
        return Help("say how long after 'for', e.g. for 2h")
    matchers: list[Matcher] = []
    for token in tokens[:split]:
        for part in _MATCHER_SPLIT.findall(token.group()):
            try:
                matchers.append(Matcher.parse(part))
            except ValueError as exc:
                return Help(str(exc))
    if not matchers:
        return Help("say what to silence before 'for', e.g. silence service=search for 2h")
    duration_text = text[tokens[split + 1].start() : tokens[because - 1].end()]
    try:
        duration = parse_duration(duration_text)
    except ValueError as exc:
        return Help(str(exc))
    reason = text[tokens[because + 1].start() :].strip() if because + 1 < len(tokens) else ""
    if because < len(tokens) and not reason:
        return Help("say why after 'because', or leave 'because' out")
    return Silence(tuple(matchers), duration, reason)
