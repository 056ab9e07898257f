"""The console's pages as HTML: the channel, the overview, the login form.

Pages are drawn on the server and need no build step; `static/console.js` only adds what must be
live (the event stream, buttons, the question box). No inline script or style anywhere, so the
Content-Security-Policy forbids both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from html import escape

from bot.actions import Actor
from bot.console.overview import Overview
from bot.console.render import incident_html
from bot.console.svg import Series, bar_chart, line_chart
from engine.view import IncidentView, clip, time_text

NO_INCIDENTS = '<p class="empty">No incidents. New ones appear here as they open.</p>'


def channel_page(cards: str, actor: Actor, *, demo: bool) -> str:
    body = f"""
<main class="channel">
  <section class="ask" aria-label="Ask a question">
    <form id="ask-form" autocomplete="off">
      <input id="question" name="question" maxlength="500" required
        placeholder="Ask about incidents or metrics, e.g. incidents per day last week">
      <button type="submit">Ask</button>
    </form>
    <div id="answer" class="answer" hidden></div>
  </section>
  <div class="columns">
    <section id="cards" class="cards" aria-live="polite">{cards}</section>
    <aside class="activity" aria-label="Live activity">
      <h2>Activity</h2>
      <ol id="events"></ol>
    </aside>
  </div>
</main>"""
    return _layout("Channel", body, actor, demo=demo, live=True)


def card_list(views: Sequence[IncidentView]) -> str:
    return "\n".join(incident_html(view) for view in views) if views else NO_INCIDENTS


def overview_page(overview: Overview, actor: Actor, *, demo: bool, now: datetime, tz: tzinfo) -> str:
    labels = [f"{day.start:%m-%d}" for day in overview.days]
    reduction = overview.noise_reduction
    tiles = [
        ("Alerts", f"{overview.alerts:,}"),
        ("Incidents", f"{overview.incidents:,}"),
        ("Noise reduction", f"{reduction:.1f} %" if reduction is not None else "—"),
        ("Open now", f"{overview.open_incidents:,}"),
    ]
    charts = [
        line_chart(
            labels,
            [
                Series("alerts", [float(day.alerts) for day in overview.days]),
                Series("incidents", [float(day.incidents) for day in overview.days]),
            ],
            title="Alerts vs incidents per day",
        ),
        line_chart(
            labels,
            [
                Series("MTTA", [day.mtta_minutes for day in overview.days]),
                Series("MTTR", [day.mttr_minutes for day in overview.days]),
            ],
            title="MTTA and MTTR by day opened (minutes)",
            unit=" min",
        ),
        line_chart(
            labels,
            [Series("auto-resolved", [day.auto_share for day in overview.days])],
            title="Auto-resolved share of resolved incidents (%)",
            unit="%",
        ),
        bar_chart(
            [(name, float(count)) for name, count in overview.noisiest],
            title="Noisiest alerts (alerts received)",
        ),
    ]
    outbox, detector = overview.outbox, overview.detector
    oldest = time_text(outbox.oldest_pending, now, tz) if outbox.oldest_pending else "—"
    saved = time_text(detector.last_saved, now, tz) if detector.last_saved else "never"
    health = [
        (
            "Outbox (chat deliveries)",
            [
                ("Pending", f"{outbox.pending:,}"),
                ("Oldest pending", oldest),
                ("Dead (gave up)", f"{outbox.dead:,}"),
            ],
            "bad" if outbox.dead else "ok",
        ),
        (
            "Anomaly detector",
            [
                ("Metric series", f"{detector.series:,}"),
                ("Series with saved state", f"{detector.with_state:,}"),
                ("Last state save", saved),
                ("Unsaved series", f"{detector.unsaved:,}"),
                ("Detector alerts in the window", f"{detector.alerts:,}"),
            ],
            "ok",
        ),
    ]
    tile_html = "".join(f'<div class="tile"><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>' for k, v in tiles)
    chart_html = "".join(f'<figure class="panel">{chart}</figure>' for chart in charts)
    health_html = "".join(
        f'<section class="panel health {state}"><h2>{_e(title)}</h2><dl>'
        + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
        + "</dl></section>"
        for title, rows, state in health
    )
    days = len(overview.days)
    since = f"{overview.since:%Y-%m-%d}"
    body = f"""
<main class="overview">
  <p class="window">The last {days} days, since {_e(since)}.
    <a href="/console/overview?days=7">7 days</a> · <a href="/console/overview?days=14">14 days</a> ·
    <a href="/console/overview?days=30">30 days</a></p>
  <dl class="tiles">{tile_html}</dl>
  <div class="charts">{chart_html}</div>
  <div class="healths">{health_html}</div>
</main>"""
    return _layout("Overview", body, actor, demo=demo)


def login_page(*, error: str | None = None, name: str = "") -> str:
    problem = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
    body = f"""
<main class="login">
  <h1>nocbot console</h1>
  {problem}
  <form method="post" action="/console/login">
    <label>Your name <input name="name" value="{_e(name)}" maxlength="64" required
      autocomplete="username"></label>
    <label>Token <input name="token" type="password" required autocomplete="current-password"></label>
    <p class="hint">The API token of this server (NOCBOT_INGEST_TOKEN).</p>
    <button type="submit">Sign in</button>
  </form>
</main>"""
    return _document("Sign in", body)


def _layout(title: str, body: str, actor: Actor, *, demo: bool, live: bool = False) -> str:
    links = [("/console", "Channel"), ("/console/overview", "Overview")]
    current = ' aria-current="page"'
    nav = "".join(f'<a href="{href}"{current if label == title else ""}>{label}</a>' for href, label in links)
    who = (
        '<span class="user">demo mode (no login)</span>'
        if demo
        else f'<span class="user">{_e(actor.display_name)}</span>'
        '<form method="post" action="/console/logout"><button type="submit">Sign out</button></form>'
    )
    status = '<span id="live" class="live" data-state="connecting">connecting…</span>' if live else ""
    brand = '<strong class="brand">nocbot</strong>'
    header = f'<header class="top">{brand}<nav>{nav}</nav>{status}{who}</header>'
    return _document(title, header + body)


def _document(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nocbot · {_e(title)}</title>
<link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/static/console.css">
<script src="/console/static/console.js" defer></script>
</head>
<body>
{body}
</body>
</html>
"""


def _e(text: str) -> str:
    return escape(clip(text, 500), quote=True)
