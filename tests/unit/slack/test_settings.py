"""Slack settings: off by default, every bad value named, secrets never echoed."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError
from bot.slack.settings import DEFAULT_API_URL, SLACK_SETTINGS, SlackSettings


def test_off_by_default() -> None:
    settings = SlackSettings.from_env({})
    assert not settings.enabled and not settings.http_mode and not settings.socket_mode
    assert settings.api_url == DEFAULT_API_URL
    assert settings.command == "/nocbot"


def test_declared_settings_match_the_fields_and_defaults() -> None:
    defaults = SlackSettings.from_env({})
    assert {spec.field for spec in SLACK_SETTINGS} == set(SlackSettings.__dataclass_fields__)
    for spec in SLACK_SETTINGS:
        assert getattr(defaults, spec.field) == getattr(SlackSettings(), spec.field), spec.env
        assert spec.env.startswith("NOCBOT_SLACK_")


def test_http_and_socket_mode() -> None:
    settings = SlackSettings.from_env(
        {
            "NOCBOT_SLACK_BOT_TOKEN": "xoxb-1",
            "NOCBOT_SLACK_SIGNING_SECRET": "s3cret",
            "NOCBOT_SLACK_APP_TOKEN": "xapp-1",
            "NOCBOT_SLACK_ROUTES": "*:#incidents",
            "NOCBOT_SLACK_API_URL": "http://127.0.0.1:9/api",
        }
    )
    assert settings.http_mode and settings.socket_mode
    assert settings.api_url == "http://127.0.0.1:9/api/"
    assert "s3cret" not in repr(settings) and "xoxb-1" not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"NOCBOT_SLACK_BOT_TOKEN": "xoxp-user-token"}, "NOCBOT_SLACK_BOT_TOKEN"),
        ({"NOCBOT_SLACK_APP_TOKEN": "xoxb-wrong"}, "NOCBOT_SLACK_APP_TOKEN"),
        ({"NOCBOT_SLACK_ROUTES": "everything:#x"}, "NOCBOT_SLACK_ROUTES"),
        ({"NOCBOT_SLACK_COMMAND": "nocbot"}, "NOCBOT_SLACK_COMMAND"),
        ({"NOCBOT_SLACK_API_URL": "slack.com"}, "NOCBOT_SLACK_API_URL"),
        ({"NOCBOT_SLACK_SIGNING_SECRET": "s"}, "NOCBOT_SLACK_BOT_TOKEN is empty"),
        ({"NOCBOT_SLACK_BOT_TOKEN": "xoxb-1"}, "NOCBOT_SLACK_ROUTES is empty"),
    ],
)
def test_a_bad_value_names_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        SlackSettings.from_env(environ)


def test_a_bad_secret_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as raised:
        SlackSettings.from_env({"NOCBOT_SLACK_BOT_TOKEN": "xoxp-very-secret"})
    assert "very-secret" not in str(raised.value)
