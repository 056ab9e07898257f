"""Teams settings, declared like `bot.settings.SETTINGS` (variable, default, meaning, parser).

Teams is off unless an app id is set (or anonymous mode is on, for local testing with the Bot
Framework Emulator or Teams' Agents Playground). The app id and password are those of the Azure Bot
registration; requests to /api/messages must carry a Bot Framework token issued for that app id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.setting_spec import SettingsError, SettingSpec
from bot.slack.routing import RoutingTable
from bot.teams.routing import parse_teams_routes

MULTI_TENANT = "common"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _optional(raw: str) -> str | None:
    return raw.strip() or None


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("must be true or false")


TEAMS_SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "app_id",
        "NOCBOT_TEAMS_APP_ID",
        "",
        "Microsoft App ID of the Azure Bot; Teams is off without it.",
        _optional,
    ),
    SettingSpec(
        "app_password",
        "NOCBOT_TEAMS_APP_PASSWORD",
        "",
        "Client secret of the bot's app registration (the secret's Value).",
        _optional,
    ),
    SettingSpec(
        "tenant_id",
        "NOCBOT_TEAMS_TENANT_ID",
        "",
        "Directory (tenant) ID of a single-tenant bot; empty or 'common' for a multi-tenant one.",
        _optional,
    ),
    SettingSpec(
        "routes",
        "NOCBOT_TEAMS_ROUTES",
        "",
        "Which Teams channel gets which incident, e.g. service=payments:Payments;*:Incidents.",
        parse_teams_routes,
    ),
    SettingSpec(
        "anonymous",
        "NOCBOT_TEAMS_ANONYMOUS",
        "false",
        "Accept /api/messages without a token and call Teams without one (local testing only).",
        _flag,
    ),
)


@dataclass(frozen=True)
class TeamsSettings:
    app_id: str | None = None
    app_password: str | None = field(default=None, repr=False)
    tenant_id: str | None = None
    routes: RoutingTable = field(default_factory=RoutingTable)
    anonymous: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TeamsSettings:
        values: dict[str, Any] = {}
        for spec in TEAMS_SETTINGS:
            raw = environ.get(spec.env, spec.default)
            try:
                values[spec.field] = spec.parse(raw)
            except ValueError as exc:
                shown = "<hidden>" if spec.field == "app_password" else repr(raw)
                raise SettingsError(f"{spec.env}={shown}: {exc}") from None
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if not self.enabled:
            if self.app_password or self.routes:
                set_ = "NOCBOT_TEAMS_APP_PASSWORD" if self.app_password else "NOCBOT_TEAMS_ROUTES"
                raise SettingsError(f"{set_} is set but NOCBOT_TEAMS_APP_ID is empty")
            return
        if not self.anonymous and self.app_password is None:
            raise SettingsError(
                "NOCBOT_TEAMS_APP_PASSWORD is empty: set the client secret of the bot's app registration "
                "(or NOCBOT_TEAMS_ANONYMOUS=true for local testing)"
            )
        if not self.routes:
            raise SettingsError(
                "NOCBOT_TEAMS_ROUTES is empty: say which channel gets incidents, e.g. '*:Incidents'"
            )

    @property
    def enabled(self) -> bool:
        return self.app_id is not None or self.anonymous

    @property
    def authenticated(self) -> bool:
        """Requests are checked and calls carry a token (everywhere but local testing)."""
        return not self.anonymous

    @property
    def token_tenant(self) -> str:
        """The tenant that issues the bot's own tokens: its own, or Bot Framework's for multi-tenant."""
        if self.tenant_id is None or self.tenant_id.lower() == MULTI_TENANT:
            return "botframework.com"
        return self.tenant_id


DISABLED = TeamsSettings()
