"""The Slack app manifest nocbot needs, as YAML to paste into Slack's "Create an app → From a manifest".

The bot scopes come from `METHOD_SCOPES` (every Web API method nocbot calls, with the scopes it
needs) plus the event and the slash command, so the manifest asks for exactly what the code uses; a
test greps `bot/` for Web API calls and fails when one is missing from the table. Each scope line
carries a comment saying why, which Slack's manifest editor accepts (it is YAML).

Over HTTP, events, interactivity and the slash command all go to `<url>/slack/events` (one Bolt
endpoint). In Socket Mode no URL is given: Slack sends everything over the WebSocket opened with the
app-level token (`connections:write`, created in the app's Basic Information page, not here).
"""

from __future__ import annotations

from collections.abc import Mapping

EVENTS_PATH = "/slack/events"  # bot.slack.http.EVENTS_PATH; not imported: no Bolt needed to print YAML
EVENTS = ("app_mention",)

# Web API method -> the bot scopes it needs (none: it works with any bot token).
METHOD_SCOPES: Mapping[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write", "chat:write.public"),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "views.open": (),
    "users.info": ("users:read",),
    "usergroups.list": ("usergroups:read",),
    "conversations.list": ("channels:read", "groups:read"),
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.replies": ("channels:history", "groups:history"),
}
# Called with the app-level token (Socket Mode, and `nocbot doctor` checking that token): its scope
# is given to the token when it is created, not requested by the manifest.
APP_TOKEN_METHODS: Mapping[str, tuple[str, ...]] = {"apps.connections.open": ("connections:write",)}
EVENT_SCOPES: Mapping[str, tuple[str, ...]] = {"app_mention": ("app_mentions:read",)}
COMMAND_SCOPE = "commands"

WHY: Mapping[str, str] = {
    "app_mentions:read": "receive '@nocbot <question>' (the app_mention event)",
    "channels:history": "find a card already posted before posting again after a lost answer (public)",
    "channels:read": "turn #channel names in NOCBOT_SLACK_ROUTES into channel ids (public channels)",
    "chat:write": "post incident cards, update them in place, reply in their threads",
    "chat:write.public": "post cards in public channels nocbot has not been invited to",
    "commands": "the /nocbot slash command",
    "groups:history": "the same posted-card check in private channels nocbot was invited to",
    "groups:read": "the same #name lookup for private channels nocbot was invited to",
    "usergroups:read": "permissions: which user groups (@oncall...) the person who clicked belongs to",
    "users:read": "show who acknowledged, silenced or resolved, by display name",
}


def bot_scopes() -> tuple[str, ...]:
    """Every bot scope the manifest requests, sorted."""
    scopes = {scope for needed in METHOD_SCOPES.values() for scope in needed}
    scopes.update(scope for event in EVENTS for scope in EVENT_SCOPES[event])
    scopes.add(COMMAND_SCOPE)
    return tuple(sorted(scopes))


def render_manifest(url: str | None, *, command: str = "/nocbot", name: str = "nocbot") -> str:
    """The manifest as YAML text. `url` is the public base URL (HTTP mode); None for Socket Mode."""
    socket_mode = url is None
    endpoint = None if url is None else url.rstrip("/") + EVENTS_PATH
    scope_lines = "\n".join(f"      - {scope:<18} # {WHY[scope]}" for scope in bot_scopes())
    event_lines = "\n".join(f"      - {event}" for event in EVENTS)
    url_line = "" if endpoint is None else f"    request_url: {endpoint}\n"
    command_url = "" if endpoint is None else f"      url: {endpoint}\n"
    mode = (
        "Socket Mode: Slack sends events, clicks and commands over the WebSocket nocbot opens with\n"
        "# NOCBOT_SLACK_APP_TOKEN (an app-level token with connections:write); no public URL needed."
        if socket_mode
        else f"HTTP: events, clicks and {command} all go to {endpoint}\n"
        "# (NOCBOT_SLACK_SIGNING_SECRET verifies them)."
    )
    return (
        f"# Slack app manifest for nocbot — {mode}\n"
        "# Paste it at https://api.slack.com/apps → Create New App → From a manifest, install the app,\n"
        "# then copy the Bot User OAuth Token (xoxb-…) into NOCBOT_SLACK_BOT_TOKEN.\n"
        "_metadata:\n"
        "  major_version: 1\n"
        "  minor_version: 1\n"
        "display_information:\n"
        f"  name: {name}\n"
        "  description: Alerts in, a few prioritized, explained incidents out.\n"
        '  background_color: "#1d3557"\n'
        "features:\n"
        "  bot_user:\n"
        f"    display_name: {name}\n"
        "    always_online: true\n"
        "  slash_commands:\n"
        f"    - command: {command}\n"
        f"{command_url}"
        "      description: Ask nocbot, silence alerts, see what is open\n"
        '      usage_hint: "ask <question> | silence <matchers> for <duration> | status | help"\n'
        "      should_escape: false\n"
        "oauth_config:\n"
        "  scopes:\n"
        "    bot:\n"
        f"{scope_lines}\n"
        "settings:\n"
        "  event_subscriptions:\n"
        f"{url_line}"
        "    bot_events:\n"
        f"{event_lines}\n"
        "  interactivity:  # card buttons, menus and the silence dialog\n"
        "    is_enabled: true\n"
        f"{url_line}"
        "  org_deploy_enabled: false\n"
        f"  socket_mode_enabled: {'true' if socket_mode else 'false'}\n"
        "  token_rotation_enabled: false\n"
    )
