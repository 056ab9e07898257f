"""Console pages: escaped, no inline script or style, the overview's charts and health numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.actions import Actor, Surface
from bot.console.overview import Day, DetectorHealth, Overview
from bot.console.pages import channel_page, login_page, overview_page
from engine.storage.outbox_rows import OutboxHealth
from tests.unit.rendering.factories import HOSTILE

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
ACTOR = Actor(Surface.CONSOLE, HOSTILE, HOSTILE)


def no_inline_code(html: str) -> None:
    assert "<script>" not in html and "style=" not in html and " on" + "click" not in html
    assert '<script src="/console/static/console.js" defer></script>' in html


def test_channel_page_escapes_the_user_and_holds_the_cards() -> None:
    html = channel_page('<article class="nocbot-incident"></article>', ACTOR, demo=False)
    no_inline_code(html)
    assert "&lt;script&gt;" in html and 'id="live"' in html and 'action="/console/logout"' in html
    assert '<section id="cards" class="cards" aria-live="polite"><article' in html
    demo = channel_page("", ACTOR, demo=True)
    assert "demo mode" in demo and "/console/logout" not in demo


def test_overview_page_draws_four_charts_and_reports_health() -> None:
    since = NOW.replace(hour=0) - timedelta(days=1)
    overview = Overview(
        since=since,
        days=(
            Day(
                since,
                alerts=10,
                incidents=2,
                mtta_minutes=3.0,
                mttr_minutes=30.0,
                resolved=2,
                auto_resolved=1,
            ),
            Day(since + timedelta(days=1), alerts=30, incidents=2),
        ),
        noisiest=((HOSTILE, 25), ("DiskFull", 15)),
        outbox=OutboxHealth(pending=4, dead=2, oldest_pending=NOW - timedelta(minutes=5)),
        detector=DetectorHealth(series=12, with_state=10, last_saved=None, unsaved=2, alerts=1),
        open_incidents=3,
    )
    assert overview.noise_reduction == 90.0 and overview.days[0].auto_share == 50.0
    html = overview_page(overview, ACTOR, demo=False, now=NOW, tz=UTC)
    no_inline_code(html)
    assert html.count("<svg") == 4 and "<script>alert" not in html
    assert "90.0 %" in html and "health bad" in html and "11:55 UTC" in html and "never" in html


def test_login_page_keeps_the_name_and_shows_the_error() -> None:
    html = login_page(error="That token is not right.", name=HOSTILE)
    assert 'role="alert"' in html and "&lt;script&gt;" in html and 'type="password"' in html
