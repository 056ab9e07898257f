"""`nocbot doctor`: each check against the real thing it checks (databases, a fake Slack on loopback,
files), and the command's table and exit status."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import main
from bot.doctor.database_check import check_database
from bot.doctor.files_check import check_catalog, check_playbooks
from bot.doctor.findings import Finding, Status, ok
from bot.doctor.pagerduty_check import check_pagerduty
from bot.doctor.registry import CHECKS, failed, run_checks
from bot.doctor.settings_check import check_settings
from bot.doctor.slack_check import check_slack
from bot.doctor.teams_check import check_teams
from engine.storage import migrate
from engine.storage.database import open_engine
from integrations.slack_manifest import bot_scopes
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlack

ROOT = Path(__file__).resolve().parents[2]
GUID = "0c6f1a0e-2a39-4d6b-9a57-3f1f2d8e9b41"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 letters and digits
PLAYBOOK = """\
name: restart-search
match: {services: [search]}
approvers: {slack_groups: [oncall]}
steps:
  - name: tell
    kind: notify
    text: restarting search
"""


def statuses(findings: list[Finding]) -> list[Status]:
    return [finding.status for finding in findings]


def only(findings: list[Finding], status: Status) -> Finding:
    matching = [finding for finding in findings if finding.status is status]
    assert len(matching) == 1, findings
    return matching[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def migrated(database_url: str) -> str:
    # the sqlite variant of the fixture is only a path: the app would migrate it at start
    engine = open_engine(database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    return database_url


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(scopes=bot_scopes()) as fake:
        yield fake


def slack_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "NOCBOT_SLACK_BOT_TOKEN": BOT_TOKEN,
        "NOCBOT_SLACK_SIGNING_SECRET": "signing-secret",
        "NOCBOT_SLACK_API_URL": fake.api_url,
        "NOCBOT_SLACK_ROUTES": "*:#incidents",
        **extra,
    }


# -- database ------------------------------------------------------------------------------------------


async def test_a_migrated_database_is_fine(database_url: str) -> None:
    (finding,) = await check_database({"NOCBOT_DATABASE_URL": await migrated(database_url)})
    assert finding.status is Status.OK and "schema current" in finding.message


async def test_a_database_without_the_schema_says_migrate(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    (finding,) = await check_database({"NOCBOT_DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
    assert finding.status is Status.WARNING and "nocbot migrate" in finding.fix


async def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nocbot.db"
    (finding,) = await check_database({"NOCBOT_DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
    assert finding.status is Status.WARNING and "does not exist" in finding.message
    assert not path.exists()
    (finding,) = await check_database({"NOCBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/no/dir.db"})
    assert finding.status is Status.PROBLEM


async def test_a_schema_newer_than_the_code_is_a_problem(tmp_path: Path) -> None:
    url = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'nocbot.db'}")
    engine = open_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    finally:
        await engine.dispose()
    (finding,) = await check_database({"NOCBOT_DATABASE_URL": url})
    assert finding.status is Status.PROBLEM and "newer" in finding.message


async def test_an_unreachable_database_is_a_problem_without_the_password() -> None:
    url = f"postgresql+asyncpg://nocbot:s3cret@127.0.0.1:{closed_port()}/nocbot"
    (finding,) = await check_database({"NOCBOT_DATABASE_URL": url})
    assert finding.status is Status.PROBLEM and "cannot connect" in finding.message
    assert "s3cret" not in finding.message and "NOCBOT_DATABASE_URL" in finding.fix


# -- Slack ---------------------------------------------------------------------------------------------


async def test_a_working_slack_setup(slack: FakeSlack) -> None:
    slack.add_channel("incidents")
    findings = await check_slack(slack_env(slack))
    assert statuses(findings) == [Status.OK] * 4, findings
    assert "@nocbot in Fake Workspace" in findings[0].message
    assert slack.calls_to("auth.test")


async def test_a_revoked_token_is_reported_with_the_fix(slack: FakeSlack) -> None:
    findings = await check_slack(slack_env(slack, NOCBOT_SLACK_BOT_TOKEN="xoxb-revoked-long-ago"))
    (finding,) = findings
    assert finding.status is Status.PROBLEM and "invalid_auth" in finding.message
    assert "Reinstall" in finding.fix
    assert [call.error for call in slack.calls_to("auth.test")] == ["invalid_auth"]


async def test_missing_scopes_are_named(slack: FakeSlack) -> None:
    slack.scopes = tuple(scope for scope in bot_scopes() if scope not in {"users:read", "commands"})
    slack.add_channel("incidents")
    problem = only(await check_slack(slack_env(slack)), Status.PROBLEM)
    assert "commands, users:read" in problem.message and "reinstall" in problem.fix


async def test_no_scope_header_is_a_warning(slack: FakeSlack) -> None:
    slack.scopes = None
    slack.add_channel("incidents")
    warning = only(await check_slack(slack_env(slack)), Status.WARNING)
    assert "x-oauth-scopes" in warning.message


async def test_a_routed_channel_nocbot_cannot_see(slack: FakeSlack) -> None:
    slack.add_channel("incidents")
    env = slack_env(slack, NOCBOT_SLACK_ROUTES="service=pay:#payments;*:#incidents")
    problem = only(await check_slack(env), Status.PROBLEM)
    assert problem.message.endswith("#payments") and "/invite" in problem.fix


async def test_socket_mode_app_token(slack: FakeSlack) -> None:
    slack.add_channel("incidents")
    good = slack_env(slack, NOCBOT_SLACK_SIGNING_SECRET="", NOCBOT_SLACK_APP_TOKEN=APP_TOKEN)
    findings = await check_slack(good)
    assert any("Socket Mode" in f.message for f in findings) and not failed(findings)
    bad = {**good, "NOCBOT_SLACK_APP_TOKEN": "xapp-revoked"}
    problem = only(await check_slack(bad), Status.PROBLEM)
    assert "app-level token is refused: invalid_auth" in problem.message


async def test_no_way_in_for_slack_requests_is_a_warning(slack: FakeSlack) -> None:
    slack.add_channel("incidents")
    warning = only(await check_slack(slack_env(slack, NOCBOT_SLACK_SIGNING_SECRET="")), Status.WARNING)
    assert "never reach nocbot" in warning.message


async def test_slack_unreachable() -> None:
    env = {
        "NOCBOT_SLACK_BOT_TOKEN": BOT_TOKEN,
        "NOCBOT_SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/",
        "NOCBOT_SLACK_ROUTES": "*:#incidents",
    }
    (finding,) = await check_slack(env)
    assert finding.status is Status.PROBLEM and "cannot reach Slack" in finding.message


async def test_slack_off() -> None:
    assert statuses(await check_slack({})) == [Status.SKIPPED]


# -- Teams, PagerDuty ----------------------------------------------------------------------------------

TEAMS = {
    "NOCBOT_TEAMS_APP_ID": GUID,
    "NOCBOT_TEAMS_APP_PASSWORD": "kR8Q~not.a.real.secret.value~xyz123",
    "NOCBOT_TEAMS_TENANT_ID": TENANT,
    "NOCBOT_PUBLIC_URL": "https://nocbot.example.com",
}


async def test_teams_credentials_well_formed() -> None:
    findings = await check_teams(TEAMS)
    assert statuses(findings) == [Status.OK, Status.OK]
    assert "https://nocbot.example.com/api/messages" in findings[1].message
    assert not failed(await check_teams({**TEAMS, "NOCBOT_TEAMS_TENANT_ID": "common"}))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"NOCBOT_TEAMS_APP_ID": "nocbot"}, "is not a GUID"),
        ({"NOCBOT_TEAMS_APP_PASSWORD": ""}, "NOCBOT_TEAMS_APP_PASSWORD is empty"),
        ({"NOCBOT_TEAMS_APP_PASSWORD": TENANT}, "secret's ID"),
        ({"NOCBOT_TEAMS_TENANT_ID": "contoso.onmicrosoft"}, "neither a GUID"),
    ],
)
async def test_teams_credentials_malformed(change: dict[str, str], words: str) -> None:
    problem = only(await check_teams({**TEAMS, **change}), Status.PROBLEM)
    assert words in problem.message


async def test_teams_over_plain_http_is_a_warning() -> None:
    warning = only(await check_teams({**TEAMS, "NOCBOT_PUBLIC_URL": "http://10.0.0.5:8080"}), Status.WARNING)
    assert "https" in warning.message


async def test_teams_anonymous_mode_is_a_warning() -> None:
    warning = only(await check_teams({"NOCBOT_TEAMS_ANONYMOUS": "true"}), Status.WARNING)
    assert "local testing" in warning.fix


async def test_teams_and_pagerduty_off() -> None:
    assert statuses(await check_teams({})) == [Status.SKIPPED]
    assert statuses(await check_pagerduty({})) == [Status.SKIPPED]


async def test_pagerduty_keys_and_secrets() -> None:
    env = {
        "NOCBOT_PAGERDUTY_ROUTING_KEYS": f"default={KEY}; payments={KEY.lower()}",
        "NOCBOT_PAGERDUTY_WEBHOOK_SECRETS": "old-secret,new-secret",
    }
    findings = await check_pagerduty(env)
    assert statuses(findings) == [Status.OK, Status.OK]
    assert "default, payments" in findings[0].message

    short = await check_pagerduty({**env, "NOCBOT_PAGERDUTY_ROUTING_KEYS": f"default={KEY[:31]}"})
    assert "31 characters, not 32" in only(short, Status.PROBLEM).message
    shapeless = await check_pagerduty({**env, "NOCBOT_PAGERDUTY_ROUTING_KEYS": KEY})
    assert "not NAME=KEY" in only(shapeless, Status.PROBLEM).message
    one_way = await check_pagerduty({"NOCBOT_PAGERDUTY_ROUTING_KEYS": f"default={KEY}"})
    assert "/api/v1/pagerduty/webhook" in only(one_way, Status.WARNING).fix


# -- files ---------------------------------------------------------------------------------------------


async def test_catalog(tmp_path: Path) -> None:
    findings = await check_catalog({"NOCBOT_CATALOG": str(ROOT / "examples" / "services.yaml")})
    assert statuses(findings) == [Status.OK]
    broken = tmp_path / "services.yaml"
    broken.write_text("services:\n  - name: api\n    depends_on: [db]\n")
    assert (
        "unknown service 'db'"
        in only(await check_catalog({"NOCBOT_CATALOG": str(broken)}), Status.PROBLEM).message
    )
    broken.write_text("services:\n  - name: api\n    pagerduty_routing_key: abc\n")
    assert "api" in only(await check_catalog({"NOCBOT_CATALOG": str(broken)}), Status.PROBLEM).message
    # a catalog entry may name a key of NOCBOT_PAGERDUTY_ROUTING_KEYS instead of holding one
    named = {"NOCBOT_CATALOG": str(broken), "NOCBOT_PAGERDUTY_ROUTING_KEYS": f"abc={KEY}"}
    assert statuses(await check_catalog(named)) == [Status.OK]
    broken.write_text(f"services:\n  - name: api\n    pagerduty_routing_key: {KEY}\n")
    assert statuses(await check_catalog({"NOCBOT_CATALOG": str(broken)})) == [Status.OK]
    assert statuses(await check_catalog({})) == [Status.SKIPPED]


async def test_playbooks(tmp_path: Path) -> None:
    (tmp_path / "restart.yaml").write_text(PLAYBOOK)
    (finding,) = await check_playbooks({"NOCBOT_PLAYBOOKS_DIR": str(tmp_path)})
    assert finding.status is Status.OK and "restart-search" in finding.message
    (tmp_path / "broken.yaml").write_text("name: x\nsteps: [\n")
    problem = only(await check_playbooks({"NOCBOT_PLAYBOOKS_DIR": str(tmp_path)}), Status.PROBLEM)
    assert "broken.yaml:" in problem.message
    missing = await check_playbooks({"NOCBOT_PLAYBOOKS_DIR": str(tmp_path / "nope")})
    assert statuses(missing) == [Status.PROBLEM]
    assert statuses(await check_playbooks({})) == [Status.SKIPPED]


# -- settings, the list, the command -----------------------------------------------------------------


async def test_settings() -> None:
    good = {"NOCBOT_INGEST_TOKEN": "t"}
    assert statuses(await check_settings(good)) == [Status.OK]
    bad_port = only(await check_settings({**good, "NOCBOT_PORT": "http"}), Status.PROBLEM)
    assert bad_port.message.startswith("NOCBOT_PORT=")
    no_token = only(await check_settings({}), Status.PROBLEM)
    assert "NOCBOT_INGEST_TOKEN" in no_token.message
    typo = only(await check_settings({**good, "NOCBOT_SLACK_BOT_TOKN": "x"}), Status.WARNING)
    assert "NOCBOT_SLACK_BOT_TOKN" in typo.message
    secret = await check_settings({**good, "NOCBOT_SLACK_BOT_TOKEN": "not-a-bot-token"})
    assert "not-a-bot-token" not in only(secret, Status.PROBLEM).message
    key = await check_settings({**good, "NOCBOT_PAGERDUTY_ROUTING_KEYS": "default=short-key"})
    assert "short-key" not in only(key, Status.PROBLEM).message
    # the surfaces' own rules, as serve applies them
    teams = only(await check_settings({**good, "NOCBOT_TEAMS_APP_PASSWORD": "x"}), Status.PROBLEM)
    assert "NOCBOT_TEAMS_APP_ID is empty" in teams.message
    slack = only(await check_settings({**good, "NOCBOT_SLACK_BOT_TOKEN": BOT_TOKEN}), Status.PROBLEM)
    assert "NOCBOT_SLACK_ROUTES" in slack.message
    assert statuses(await check_settings({**good, **TEAMS, "NOCBOT_TEAMS_ROUTES": "*:Incidents"})) == [
        Status.OK
    ]


async def test_a_crashing_check_does_not_hide_the_others() -> None:
    async def crashes(environ: Mapping[str, str]) -> list[Finding]:
        raise RuntimeError("boom")

    async def fine(environ: Mapping[str, str]) -> list[Finding]:
        return [ok("fine", "all good")]

    findings = await run_checks({}, [crashes, fine])
    assert statuses(findings) == [Status.PROBLEM, Status.OK]
    assert findings[0].area == "crashes" and "boom" in findings[0].message
    assert failed(findings) and not failed(findings[1:])


def command_env(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith("NOCBOT_") and name != "NOCBOT_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "1000")  # one finding a line, for the assertions


async def test_doctor_command_reports_a_revoked_token_and_fails(
    slack: FakeSlack, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    slack.add_channel("incidents")
    env = {
        **slack_env(slack),
        "NOCBOT_INGEST_TOKEN": "t",
        "NOCBOT_DATABASE_URL": await migrated(database_url),
    }
    command_env(monkeypatch, env)
    assert await asyncio.to_thread(main, ["doctor"]) == 0
    assert "nothing is wrong" in capsys.readouterr().out

    monkeypatch.setenv("NOCBOT_SLACK_BOT_TOKEN", "xoxb-revoked-long-ago")
    assert await asyncio.to_thread(main, ["doctor"]) == 1
    out = capsys.readouterr().out
    assert "invalid_auth" in out and "Reinstall" in out and "1 problem(s)" in out
    assert "schema current" in out  # the other checks still ran


def test_every_check_is_named_after_its_area() -> None:
    # the crash report uses the function's name: keep them check_<area>
    assert all(check.__name__.startswith("check_") for check in CHECKS)
