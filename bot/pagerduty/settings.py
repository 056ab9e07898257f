"""PagerDuty settings, declared like `bot.settings.SETTINGS` (variable, default, meaning, parser).

Escalation is off unless a routing key is set; the webhook route answers 404 unless a webhook
secret is set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.setting_spec import SettingsError, SettingSpec
from engine.escalation_rule import AutoEscalation
from engine.models import Priority
from integrations.pagerduty import EVENTS_PATH

DEFAULT_EVENTS_URL = "https://events.pagerduty.com"
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
_RULE = re.compile(r"^\s*(?P<priority>[Pp]?[1-5])\s*/\s*(?P<amount>\d+)\s*(?P<unit>[smh])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600}


def _routing_keys(raw: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for entry in raw.split(";"):
        if not entry.strip():
            continue
        name, sep, key = entry.partition("=")
        name, key = name.strip(), key.strip()
        if not sep or not name:
            raise ValueError("expected name=<routing key> entries separated by ';', e.g. default=<key>")
        if not _ROUTING_KEY.match(key):
            raise ValueError(f"the routing key of {name!r} must be 32 letters and digits")
        if name in keys:
            raise ValueError(f"{name!r} is given twice")
        keys[name] = key
    return keys


def _secrets(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _events_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL such as https://events.pagerduty.com")
    return url.removesuffix(EVENTS_PATH)


def _auto_escalate(raw: str) -> AutoEscalation | None:
    if not raw.strip():
        return None
    matched = _RULE.match(raw)
    if matched is None:
        raise ValueError("expected <priority>/<time>, e.g. P2/15m (P1–P2 not acknowledged within 15 minutes)")
    seconds = int(matched["amount"]) * _UNITS[matched["unit"]]
    if seconds <= 0:
        raise ValueError("the time must be more than zero")
    return AutoEscalation(int(Priority.parse(matched["priority"])), timedelta(seconds=seconds))


PAGERDUTY_SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "routing_keys",
        "NOCBOT_PAGERDUTY_ROUTING_KEYS",
        "",
        "PagerDuty Events API v2 routing keys by service or team, e.g. default=<key>;payments=<key>; "
        "escalation is off without one.",
        _routing_keys,
    ),
    SettingSpec(
        "webhook_secrets",
        "NOCBOT_PAGERDUTY_WEBHOOK_SECRETS",
        "",
        "Secrets of the PagerDuty webhook v3 subscriptions, comma separated (several while rotating); "
        "enables /api/v1/pagerduty/webhook.",
        _secrets,
    ),
    SettingSpec(
        "events_url",
        "NOCBOT_PAGERDUTY_EVENTS_URL",
        DEFAULT_EVENTS_URL,
        "Base URL of the PagerDuty Events API (a proxy, or a fake in tests).",
        _events_url,
    ),
    SettingSpec(
        "auto_escalate",
        "NOCBOT_PAGERDUTY_AUTO_ESCALATE",
        "",
        "Escalate on its own, e.g. P2/15m = P1–P2 incidents not acknowledged within 15 minutes; empty = off.",
        _auto_escalate,
    ),
)


@dataclass(frozen=True)
class PagerDutySettings:
    routing_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    events_url: str = DEFAULT_EVENTS_URL
    auto_escalate: AutoEscalation | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PagerDutySettings:
        values: dict[str, Any] = {}
        for spec in PAGERDUTY_SETTINGS:
            raw = environ.get(spec.env, spec.default)
            try:
                values[spec.field] = spec.parse(raw)
            except ValueError as exc:
                shown = "<hidden>" if spec.field in ("routing_keys", "webhook_secrets") else repr(raw)
                raise SettingsError(f"{spec.env}={shown}: {exc}") from None
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.auto_escalate is not None and not self.routing_keys:
            raise SettingsError(
                "NOCBOT_PAGERDUTY_AUTO_ESCALATE is set but NOCBOT_PAGERDUTY_ROUTING_KEYS is empty"
            )

    @property
    def enabled(self) -> bool:
        """Escalation out (a routing key to page with)."""
        return bool(self.routing_keys)

    @property
    def webhooks_enabled(self) -> bool:
        return bool(self.webhook_secrets)
