"""Slack settings, declared like `bot.settings.SETTINGS` (variable, default, meaning, parser).

Slack is off unless a bot token is set. Requests arrive over HTTP at /slack/events when a signing
secret is set, over Socket Mode when an app-level token is set (both may be on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.setting_spec import SettingsError, SettingSpec
from bot.slack.routing import RoutingTable, parse_routes

DEFAULT_API_URL = "https://slack.com/api/"


def _secret(prefixes: tuple[str, ...], what: str) -> Callable[[str], str | None]:
    def parse(raw: str) -> str | None:
        value = raw.strip()
        if value and not value.startswith(prefixes):
            raise ValueError(f"must be {what} (starting with {' or '.join(prefixes)})")
        return value or None

    return parse


def _optional_secret(raw: str) -> str | None:
    return raw.strip() or None


def _api_url(raw: str) -> str:
    url = raw.strip()
    if not url.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL such as https://slack.com/api/")
    return url if url.endswith("/") else url + "/"


def _command(raw: str) -> str:
    name = raw.strip()
    if not name.startswith("/") or len(name) < 2 or " " in name:
        raise ValueError("must be a slash command such as /nocbot")
    return name


SLACK_SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "bot_token",
        "NOCBOT_SLACK_BOT_TOKEN",
        "",
        "Slack bot token (xoxb-…); Slack is off without it.",
        _secret(("xoxb-",), "a bot token"),
    ),
    SettingSpec(
        "signing_secret",
        "NOCBOT_SLACK_SIGNING_SECRET",
        "",
        "Slack signing secret; enables requests over HTTP at /slack/events.",
        _optional_secret,
    ),
    SettingSpec(
        "app_token",
        "NOCBOT_SLACK_APP_TOKEN",
        "",
        "Slack app-level token (xapp-…); enables Socket Mode (no public URL needed).",
        _secret(("xapp-",), "an app-level token"),
    ),
    SettingSpec(
        "routes",
        "NOCBOT_SLACK_ROUTES",
        "",
        "Which channel gets which incident, e.g. service=payments:#pay;priority<=2:#sev;*:#incidents.",
        parse_routes,
    ),
    SettingSpec(
        "command", "NOCBOT_SLACK_COMMAND", "/nocbot", "The slash command registered for the app.", _command
    ),
    SettingSpec(
        "api_url",
        "NOCBOT_SLACK_API_URL",
        DEFAULT_API_URL,
        "Base URL of the Slack Web API (a proxy, or a fake in tests).",
        _api_url,
    ),
)


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    routes: RoutingTable = field(default_factory=RoutingTable)
    command: str = "/nocbot"
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SlackSettings:
        values: dict[str, Any] = {}
        for spec in SLACK_SETTINGS:
            raw = environ.get(spec.env, spec.default)
            try:
                values[spec.field] = spec.parse(raw)
            except ValueError as exc:
                shown = "<hidden>" if spec.field.endswith(("token", "secret")) else repr(raw)
                raise SettingsError(f"{spec.env}={shown}: {exc}") from None
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.bot_token is None:
            needs_bot = [name for name, value in self._inbound() if value]
            if needs_bot:
                raise SettingsError(f"{needs_bot[0]} is set but NOCBOT_SLACK_BOT_TOKEN is empty")
            return
        if not self.routes:
            raise SettingsError(
                "NOCBOT_SLACK_ROUTES is empty: say which channel gets incidents, e.g. '*:#incidents'"
            )

    def _inbound(self) -> tuple[tuple[str, str | None], ...]:
        return (
            ("NOCBOT_SLACK_SIGNING_SECRET", self.signing_secret),
            ("NOCBOT_SLACK_APP_TOKEN", self.app_token),
        )

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None

    @property
    def http_mode(self) -> bool:
        return self.enabled and self.signing_secret is not None

    @property
    def socket_mode(self) -> bool:
        return self.enabled and self.app_token is not None
