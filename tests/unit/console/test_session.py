"""The console's session cookie: signed, expiring, tied to the token, never the token itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.actions import Surface
from bot.console.session import (
    LIFETIME,
    open_console,
    session_actor,
    session_cookie,
    token_matches,
    valid_name,
)
from bot.settings import Settings

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
SETTINGS = Settings(ingest_token="s3cret-token")


def test_a_cookie_signs_in_its_person_until_it_expires() -> None:
    cookie = session_cookie(SETTINGS, "Alice Ops", NOW)
    assert "s3cret" not in cookie
    actor = session_actor(SETTINGS, cookie, NOW + LIFETIME - timedelta(seconds=1))
    assert actor is not None and actor.surface is Surface.CONSOLE
    assert (actor.user_id, actor.display_name) == ("Alice Ops", "Alice Ops")
    assert session_actor(SETTINGS, cookie, NOW + LIFETIME) is None


def test_tampered_or_foreign_cookies_are_refused() -> None:
    cookie = session_cookie(SETTINGS, "alice", NOW)
    body, _, signature = cookie.partition(".")
    other = session_cookie(SETTINGS, "mallory", NOW).partition(".")[0]
    for value in (f"{other}.{signature}", f"{body}.", body, None, "", "x" * 2000):
        assert session_actor(SETTINGS, value, NOW) is None
    assert session_actor(SETTINGS.replace(ingest_token="rotated"), cookie, NOW) is None
    assert session_actor(SETTINGS.replace(ingest_token=None), cookie, NOW) is None


def test_token_and_name_checks() -> None:
    assert token_matches(SETTINGS, " s3cret-token ")
    assert not token_matches(SETTINGS, "s3cret")
    assert not token_matches(Settings(ingest_token=None), "")
    assert valid_name("  alice   ops ") == "alice ops"
    assert valid_name("") is None and valid_name("a" * 65) is None and valid_name("a\x00b") is None


def test_demo_mode_only_with_auth_disabled_on_loopback() -> None:
    assert open_console(Settings(auth_disabled=True, host="127.0.0.1"))
    assert not open_console(Settings(auth_disabled=True, host="0.0.0.0"))
    assert not open_console(SETTINGS)
