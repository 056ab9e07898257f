"""Teams settings: off by default, complete when on, Teams destinations in routes."""

from __future__ import annotations

import pytest

from bot.setting_spec import SettingsError
from bot.slack.routing import IncidentFacts, RoutingError
from bot.teams.routing import is_conversation_id, parse_teams_routes
from bot.teams.settings import DISABLED, TEAMS_SETTINGS, TeamsSettings
from engine.models import Priority

APP_ID = "00000000-0000-4000-8000-00000000b07d"
ON = {
    "NOCBOT_TEAMS_APP_ID": APP_ID,
    "NOCBOT_TEAMS_APP_PASSWORD": "s3cret",
    "NOCBOT_TEAMS_ROUTES": "*:Incidents",
}


def test_off_by_default() -> None:
    assert TeamsSettings.from_env({}) == DISABLED
    assert not DISABLED.enabled


def test_names_are_the_documented_ones() -> None:
    assert [spec.env for spec in TEAMS_SETTINGS] == [
        "NOCBOT_TEAMS_APP_ID",
        "NOCBOT_TEAMS_APP_PASSWORD",
        "NOCBOT_TEAMS_TENANT_ID",
        "NOCBOT_TEAMS_ROUTES",
        "NOCBOT_TEAMS_ANONYMOUS",
    ]


def test_on_with_app_id_password_and_routes() -> None:
    settings = TeamsSettings.from_env(
        {**ON, "NOCBOT_TEAMS_TENANT_ID": "11111111-1111-4111-8111-111111111111"}
    )
    assert settings.enabled and settings.authenticated
    assert settings.token_tenant == "11111111-1111-4111-8111-111111111111"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize("tenant", ["", "common", "COMMON"])
def test_multi_tenant_bots_get_tokens_from_bot_framework(tenant: str) -> None:
    assert TeamsSettings.from_env({**ON, "NOCBOT_TEAMS_TENANT_ID": tenant}).token_tenant == "botframework.com"


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        (
            {"NOCBOT_TEAMS_APP_ID": APP_ID, "NOCBOT_TEAMS_ROUTES": "*:Incidents"},
            "NOCBOT_TEAMS_APP_PASSWORD is empty",
        ),
        ({"NOCBOT_TEAMS_APP_ID": APP_ID, "NOCBOT_TEAMS_APP_PASSWORD": "x"}, "NOCBOT_TEAMS_ROUTES is empty"),
        ({"NOCBOT_TEAMS_APP_PASSWORD": "x"}, "NOCBOT_TEAMS_APP_ID is empty"),
        ({**ON, "NOCBOT_TEAMS_ANONYMOUS": "maybe"}, "NOCBOT_TEAMS_ANONYMOUS='maybe'"),
        ({**ON, "NOCBOT_TEAMS_ROUTES": "*:#incidents"}, "no '#'"),
    ],
)
def test_incomplete_settings_are_named(environ: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        TeamsSettings.from_env(environ)


def test_anonymous_needs_no_credentials() -> None:
    settings = TeamsSettings.from_env({"NOCBOT_TEAMS_ANONYMOUS": "true", "NOCBOT_TEAMS_ROUTES": "*:General"})
    assert settings.enabled and not settings.authenticated


def test_routes_take_ids_with_colons_and_names_with_spaces() -> None:
    table = parse_teams_routes(
        "service=payments:19:pay@thread.tacv2; priority<=2:Ops/DB critical; *:Incident room"
    )
    assert table.channel_for(IncidentFacts(services=("payments",))) == "19:pay@thread.tacv2"
    assert table.channel_for(IncidentFacts(priority=Priority.P1)) == "Ops/DB critical"
    assert table.channel_for(IncidentFacts(priority=Priority.P4)) == "Incident room"
    assert parse_teams_routes(str(table)) == table
    assert is_conversation_id("19:pay@thread.tacv2") and not is_conversation_id("Incidents")


@pytest.mark.parametrize(
    ("text", "says"),
    [("*:", "no channel"), ("*:Incidents;service=a:B", "put it last"), ("team=:X", "unknown condition")],
)
def test_bad_routes_are_named(text: str, says: str) -> None:
    with pytest.raises(RoutingError, match=says):
        parse_teams_routes(text)
