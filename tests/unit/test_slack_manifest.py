"""The Slack app manifest: the fields Slack's manifest format requires, in both modes, and bot
scopes that are exactly those the code needs — derived from the Web API calls found in `bot/`, so a
new call without its scope in the table fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli import main
from bot.slack.settings import SLACK_SETTINGS
from integrations.slack_manifest import (
    APP_TOKEN_METHODS,
    COMMAND_SCOPE,
    EVENT_SCOPES,
    EVENTS,
    METHOD_SCOPES,
    WHY,
    bot_scopes,
    render_manifest,
)

ROOT = Path(__file__).resolve().parents[2]
URL = "https://nocbot.example.com"
ENDPOINT = f"{URL}/slack/events"

# Every Web API method slack_sdk knows is a method defined on AsyncWebClient itself (the base class
# holds the plumbing: api_call, _request...).
WEB_API = {name for name in vars(AsyncWebClient) if not name.startswith("_") and "_" in name}
CALL = re.compile(r"\.([a-z]+(?:_[A-Za-z0-9]+)+)\(")
LITERAL = re.compile(r"""["']([a-z]+(?:\.[A-Za-z0-9]+)+)["']""")


def source_files() -> list[Path]:
    return sorted((ROOT / "bot").rglob("*.py"))


def methods_called_in_bot() -> set[str]:
    """`client.chat_postMessage(...)` and `"chat.postMessage"` (api_call, retry labels) in bot/."""
    found: set[str] = set()
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        found.update(name.replace("_", ".") for name in CALL.findall(text) if name in WEB_API)
        found.update(name for name in LITERAL.findall(text) if name.replace(".", "_") in WEB_API)
    return found


def bolt_registrations(kind: str) -> set[str]:
    pattern = re.compile(rf"""\.{kind}\(\s*["']([^"']+)["']""")
    return {name for path in source_files() for name in pattern.findall(path.read_text(encoding="utf-8"))}


def rendered(url: str | None) -> dict[str, Any]:
    document = yaml.safe_load(render_manifest(url))
    assert isinstance(document, dict)
    return document


def test_the_grep_sees_the_calls_it_must() -> None:
    # guards the guard: if the patterns stopped matching, the scope test would pass vacuously
    found = methods_called_in_bot()
    assert {"chat.postMessage", "chat.update", "users.info", "conversations.history"} <= found
    assert "app_mention" in bolt_registrations("event")


def test_every_web_api_method_the_code_calls_has_its_scopes_in_the_table() -> None:
    called = methods_called_in_bot()
    table = set(METHOD_SCOPES) | set(APP_TOKEN_METHODS)
    missing = called - table
    assert not missing, f"add these methods and their scopes to METHOD_SCOPES: {sorted(missing)}"
    unused = table - called
    assert not unused, f"the manifest asks scopes for methods nothing calls: {sorted(unused)}"


def test_the_events_the_code_listens_to_are_subscribed() -> None:
    assert bolt_registrations("event") == set(EVENTS)


def test_bot_scopes_are_exactly_what_the_calls_events_and_command_need() -> None:
    needed = {scope for method in methods_called_in_bot() for scope in METHOD_SCOPES.get(method, ())}
    needed |= {scope for event in bolt_registrations("event") for scope in EVENT_SCOPES[event]}
    if bolt_registrations("command") or any("app.command(" in p.read_text() for p in source_files()):
        needed.add(COMMAND_SCOPE)
    assert set(rendered(URL)["oauth_config"]["scopes"]["bot"]) == needed
    assert tuple(sorted(needed)) == bot_scopes()


def test_every_scope_says_why() -> None:
    text = render_manifest(URL)
    for scope in bot_scopes():
        assert re.search(rf"^\s+- {re.escape(scope)}\s+# \S", text, re.MULTILINE), scope
    assert set(WHY) == set(bot_scopes())


@pytest.mark.parametrize("url", [URL, None], ids=["http", "socket-mode"])
def test_required_manifest_fields(url: str | None) -> None:
    manifest = rendered(url)
    assert manifest["_metadata"]["major_version"] == 1
    assert manifest["display_information"]["name"] == "nocbot"
    assert 1 <= len(manifest["display_information"]["name"]) <= 35
    bot_user = manifest["features"]["bot_user"]
    assert bot_user["display_name"] and bot_user["always_online"] is True
    assert manifest["oauth_config"]["scopes"]["bot"]
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is (url is None)
    (command,) = manifest["features"]["slash_commands"]
    default_command = next(spec.default for spec in SLACK_SETTINGS if spec.env == "NOCBOT_SLACK_COMMAND")
    assert command["command"] == default_command
    assert command["description"] and len(command["description"]) <= 100
    assert command["should_escape"] is False  # bot.slack.commands reads the unescaped text itself


def test_http_mode_sends_everything_to_the_one_bolt_endpoint() -> None:
    manifest = rendered(URL)
    assert manifest["settings"]["event_subscriptions"]["request_url"] == ENDPOINT
    assert manifest["settings"]["interactivity"]["request_url"] == ENDPOINT
    assert manifest["features"]["slash_commands"][0]["url"] == ENDPOINT


def test_socket_mode_has_no_urls() -> None:
    text = render_manifest(None)
    assert "request_url" not in text and "url:" not in text.split("oauth_config")[0]


def test_the_shipped_examples_are_what_the_command_prints() -> None:
    examples = ROOT / "examples" / "slack"
    assert (examples / "manifest.yml").read_text(encoding="utf-8") == render_manifest("https://your-host")
    assert (examples / "manifest-socket-mode.yml").read_text(encoding="utf-8") == render_manifest(None)


def test_command_prints_the_filled_in_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slack-manifest", "--url", URL + "/"]) == 0
    manifest = yaml.safe_load(capsys.readouterr().out)
    assert manifest["settings"]["interactivity"]["request_url"] == ENDPOINT

    assert main(["slack-manifest", "--socket-mode", "--command", "/oncall"]) == 0
    manifest = yaml.safe_load(capsys.readouterr().out)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["slash_commands"][0]["command"] == "/oncall"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--url"),
        (["--url", "http://nocbot.example.com"], "https"),
        (["--url", "https://nocbot.example.com/?x=1"], "query"),
        (["--socket-mode", "--command", "nocbot"], "slash command"),
    ],
)
def test_command_refuses_what_slack_would(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["slack-manifest", *argv]) == 1
    assert message in capsys.readouterr().err
