"""Over random views, built or assembled by hand: every surface keeps its limits and stays JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.console.render import incident_html
from engine.models import IncidentStatus, Priority
from engine.view import (
    MAX_ID,
    ActionView,
    Chart,
    IncidentView,
    SectionItem,
    StatusView,
    ViewSection,
    build_incident_view,
    incident_actions,
    parse_action_value,
)
from integrations.slack_blocks import (
    MAX_MESSAGE_CHARS,
    incident_blocks,
    incident_fallback_text,
    message_chars,
)
from integrations.teams_cards import MAX_CARD_BYTES, card_bytes, incident_card
from tests.unit.rendering.adaptive_schema import card_errors
from tests.unit.rendering.factories import record
from tests.unit.rendering.slack_limits import slack_violations
from tests.unit.rendering.surfaces import ALLOWED_TAGS, action_values, executes, parse

# Short texts of any characters, and long ones made by repeating them (cheap to generate).
texts = st.one_of(
    st.text(max_size=40),
    st.builds(lambda part, times: part * times, st.text(min_size=1, max_size=12), st.integers(1, 600)),
)
some_urls = st.one_of(
    st.sampled_from(["https://ok.example/a?b=1", "javascript:alert(1)", "http://x.example/(y)", "ftp://x/"]),
    st.builds(lambda path: "https://x.example/" + path, st.text(max_size=1100)),
)
urls = st.one_of(st.none(), some_urls)
charts = st.one_of(st.none(), st.builds(Chart, some_urls, texts))
items = st.builds(SectionItem, texts, st.one_of(st.none(), texts), urls)
sections = st.builds(
    ViewSection,
    texts,
    st.lists(items, max_size=20).map(tuple),
    st.lists(items, max_size=12).map(tuple),
)
ids = st.integers(0, MAX_ID)
moments = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))
zones = st.sampled_from(
    [UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata"), ZoneInfo("America/St_Johns")]
)
playbooks = st.lists(st.one_of(texts, st.text(max_size=30)), max_size=30)


@st.composite
def actions(
    draw: st.DrawFn, incident_id: int, version: int, status: IncidentStatus
) -> tuple[ActionView, ...]:
    return incident_actions(
        incident_id,
        version,
        status,
        playbooks=draw(playbooks),
        can_escalate=draw(st.booleans()),
        offer_split=draw(st.booleans()),
        merge_candidates=draw(st.lists(ids, max_size=8)),
    )


@st.composite
def assembled_views(draw: st.DrawFn) -> IncidentView:
    """Views no builder would make (any text anywhere, huge counts), to test the renderers alone."""
    incident_id, version = draw(ids), draw(ids)
    status = draw(st.sampled_from(IncidentStatus))
    return IncidentView(
        incident_id=incident_id,
        version=version,
        title=draw(texts),
        status=StatusView(
            status, draw(st.one_of(st.none(), texts)), draw(st.one_of(st.none(), moments)), draw(texts)
        ),
        priority=draw(st.one_of(st.none(), st.sampled_from(Priority))),
        score=draw(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))),
        scorer=draw(st.one_of(st.none(), texts)),
        reasons=tuple(draw(st.lists(texts, max_size=10))),
        services=tuple(draw(st.lists(texts, max_size=40))),
        alert_count=draw(st.integers(0, 10**30)),
        started_at=draw(moments),
        started_text=draw(texts),
        duration_text=draw(texts),
        sections=tuple(draw(st.lists(sections, max_size=16))),
        chart=draw(charts),
        sparkline=draw(st.one_of(st.none(), texts)),
        actions=draw(actions(incident_id, version, status)),
        footer=draw(texts),
        console_url=draw(urls),
    )


@st.composite
def built_views(draw: st.DrawFn) -> IncidentView:
    opened = draw(moments)
    status = draw(st.sampled_from(["open", "acknowledged", "resolved"]))
    incident = record(
        id=draw(ids),
        version=draw(ids),
        title=draw(texts),
        status=status,
        service=draw(st.one_of(st.none(), texts)),
        services=draw(st.lists(texts, max_size=30)),
        priority=draw(st.one_of(st.none(), st.integers(1, 5))),
        score=draw(st.one_of(st.none(), st.floats(0, 100))),
        scorer=draw(st.one_of(st.none(), texts)),
        reasons=draw(st.lists(st.one_of(texts, st.builds(lambda p: {"phrase": p}, texts)), max_size=8)),
        alert_count=draw(st.integers(0, 10**7)),
        opened_at=opened,
        acknowledged_by=draw(st.one_of(st.none(), texts)),
        acknowledged_at=opened + timedelta(minutes=draw(st.integers(0, 10**5))),
        resolved_by=draw(st.one_of(st.none(), texts)),
        resolved_at=opened + timedelta(minutes=draw(st.integers(0, 10**5))),
        auto_resolved=draw(st.booleans()),
    )
    return build_incident_view(
        incident,
        now=opened + timedelta(seconds=draw(st.integers(-60, 10**8))),
        sections=draw(st.lists(sections, max_size=16)),
        playbooks=draw(playbooks),
        chart=draw(charts),
        series=draw(st.lists(st.floats(), max_size=80)),
        can_escalate=draw(st.booleans()),
        offer_split=draw(st.booleans()),
        merge_candidates=draw(st.lists(ids, max_size=8)),
        tz=draw(zones),
        console_url=draw(urls),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(view=st.one_of(built_views(), assembled_views()))
def test_every_surface_keeps_its_limits_for_any_view(view: IncidentView) -> None:
    offered = {action.value for action in view.actions}

    blocks = incident_blocks(view)
    assert slack_violations(blocks) == []
    assert message_chars(blocks) <= MAX_MESSAGE_CHARS
    json.dumps(blocks, allow_nan=False)
    assert len(incident_fallback_text(view)) <= 1000
    slack = [parse_action_value(value) for value in action_values(blocks)]
    assert set(slack) <= offered

    card = incident_card(view)
    json.dumps(card, allow_nan=False)
    assert card_bytes(card) <= MAX_CARD_BYTES < 28 * 1024
    assert card_errors(card) == []
    teams = [parse_action_value(action["data"]) for action in executes(card["body"])]
    assert set(teams) <= offered

    # Triage actions show on every surface, in the view's order, whatever had to be cut.
    triage = [
        a.value for a in view.actions if a.kind.value in ("acknowledge", "resolve", "silence", "escalate")
    ]
    assert [v for v in slack if v in triage] == triage
    assert [v for v in teams if v in triage] == triage

    html = incident_html(view)
    page = parse(html)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)

    # Pure: the same view renders the same, every time.
    assert (incident_blocks(view), incident_card(view), incident_html(view)) == (blocks, card, html)
