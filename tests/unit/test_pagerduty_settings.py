"""PagerDuty settings: parsed once from the environment, off by default, secrets never echoed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.pagerduty.settings import DEFAULT_EVENTS_URL, PAGERDUTY_SETTINGS, PagerDutySettings
from bot.setting_spec import SettingsError
from engine.escalation_rule import AutoEscalation

KEY_A = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
KEY_B = "0" * 32


def test_default_is_disabled() -> None:
    assert PagerDutySettings.from_env({}) == PagerDutySettings()
    settings = PagerDutySettings()
    assert not settings.enabled and not settings.webhooks_enabled
    assert settings.events_url == DEFAULT_EVENTS_URL and settings.auto_escalate is None


def test_everything_parsed() -> None:
    settings = PagerDutySettings.from_env(
        {
            "NOCBOT_PAGERDUTY_ROUTING_KEYS": f"default={KEY_A}; payments = {KEY_B};",
            "NOCBOT_PAGERDUTY_WEBHOOK_SECRETS": " new-secret , old-secret ,",
            "NOCBOT_PAGERDUTY_EVENTS_URL": "http://127.0.0.1:9999/v2/enqueue",
            "NOCBOT_PAGERDUTY_AUTO_ESCALATE": "P2/15m",
        }
    )
    assert dict(settings.routing_keys) == {"default": KEY_A, "payments": KEY_B}
    assert settings.webhook_secrets == ("new-secret", "old-secret")
    assert settings.events_url == "http://127.0.0.1:9999"
    assert settings.auto_escalate == AutoEscalation(2, timedelta(minutes=15))
    assert str(settings.auto_escalate) == "P2/15m"
    assert settings.enabled and settings.webhooks_enabled
    assert KEY_A not in repr(settings) and "old-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1/30s", AutoEscalation(1, timedelta(seconds=30))), ("p3 / 2h", AutoEscalation(3, timedelta(hours=2)))],
)
def test_auto_escalation_rules(raw: str, expected: AutoEscalation) -> None:
    env = {"NOCBOT_PAGERDUTY_ROUTING_KEYS": f"default={KEY_A}", "NOCBOT_PAGERDUTY_AUTO_ESCALATE": raw}
    assert PagerDutySettings.from_env(env).auto_escalate == expected


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"NOCBOT_PAGERDUTY_ROUTING_KEYS": "default=short"}, "NOCBOT_PAGERDUTY_ROUTING_KEYS"),
        ({"NOCBOT_PAGERDUTY_ROUTING_KEYS": KEY_A}, "NOCBOT_PAGERDUTY_ROUTING_KEYS"),
        ({"NOCBOT_PAGERDUTY_ROUTING_KEYS": f"a={KEY_A};a={KEY_B}"}, "NOCBOT_PAGERDUTY_ROUTING_KEYS"),
        ({"NOCBOT_PAGERDUTY_EVENTS_URL": "events.pagerduty.com"}, "NOCBOT_PAGERDUTY_EVENTS_URL"),
        (
            {"NOCBOT_PAGERDUTY_ROUTING_KEYS": f"default={KEY_A}", "NOCBOT_PAGERDUTY_AUTO_ESCALATE": "P6/15m"},
            "NOCBOT_PAGERDUTY_AUTO_ESCALATE",
        ),
        (
            {"NOCBOT_PAGERDUTY_ROUTING_KEYS": f"default={KEY_A}", "NOCBOT_PAGERDUTY_AUTO_ESCALATE": "P2/0m"},
            "NOCBOT_PAGERDUTY_AUTO_ESCALATE",
        ),
        ({"NOCBOT_PAGERDUTY_AUTO_ESCALATE": "P2/15m"}, "NOCBOT_PAGERDUTY_AUTO_ESCALATE"),
    ],
)
def test_bad_values_name_the_variable_and_hide_keys(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        PagerDutySettings.from_env(env)
    assert named in str(caught.value)
    assert KEY_A not in str(caught.value)


def test_spec_table_names_are_the_documented_ones() -> None:
    assert [spec.env for spec in PAGERDUTY_SETTINGS] == [
        "NOCBOT_PAGERDUTY_ROUTING_KEYS",
        "NOCBOT_PAGERDUTY_WEBHOOK_SECRETS",
        "NOCBOT_PAGERDUTY_EVENTS_URL",
        "NOCBOT_PAGERDUTY_AUTO_ESCALATE",
    ]
    fields = set(PagerDutySettings.__dataclass_fields__)
    assert {spec.field for spec in PAGERDUTY_SETTINGS} == fields
