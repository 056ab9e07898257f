"""Which Teams conversation gets which incident: Slack's routing grammar, Teams destinations.

    NOCBOT_TEAMS_ROUTES="service=payments:Payments/On-call; priority<=2:19:abc@thread.tacv2; *:Incidents"

The conditions are those of `bot.slack.routing` (first match wins, `*` last). A destination is a
conversation id as Teams gives it (`19:…@thread.tacv2`, `19:…@thread.skype`, `a:…` for a personal
chat), or the name of a channel the bot has been added to: `Channel` or `Team/Channel` when two
teams have a channel of the same name. Names are matched without regard to case; an id never
breaks when a channel is renamed, a name is easier to read.
"""

from __future__ import annotations

import re

from bot.slack.routing import RoutingError, RoutingTable, parse_routes

MAX_TARGET_CHARS = 200  # the width of conversation_refs.channel
# Bot Framework conversation ids: "19:" threads, "a:" personal chats, "8:"/"29:" users
_CONVERSATION_ID = re.compile(r"^(?:19|a|8|29):\S+$")


def teams_target(text: str, where: str) -> str:
    if not text:
        raise RoutingError(f"{where}: no channel after ':' (a Teams channel name or conversation id)")
    if len(text) > MAX_TARGET_CHARS or not text.isprintable():
        raise RoutingError(f"{where}: a Teams destination is at most {MAX_TARGET_CHARS} printable characters")
    if text.startswith("#"):
        raise RoutingError(f"{where}: {text!r} — Teams channel names have no '#': write {text[1:]!r}")
    return text


def parse_teams_routes(text: str) -> RoutingTable:
    """Raises RoutingError naming the route that is wrong."""
    return parse_routes(text, target=teams_target)


def is_conversation_id(target: str) -> bool:
    return _CONVERSATION_ID.match(target) is not None
