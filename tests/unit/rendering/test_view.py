"""The message model: what the builder puts in a view, and the action value every surface carries."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.models import IncidentStatus, Priority
from engine.scoring.assessment import PriorityAssessment, Reason
from engine.view import (
    MAX_ARGUMENT_CHARS,
    MAX_ID,
    SILENCE_PRESETS,
    ActionKind,
    ActionStyle,
    ActionValue,
    ActionView,
    build_incident_view,
    clip,
    duration_text,
    fit_items,
    incident_actions,
    link_target,
    more_text,
    parse_action_value,
    silence_seconds,
    sparkline,
    time_text,
)
from tests.unit.rendering.factories import NOW, OPENED, acknowledged, ordinary_view, record, resolved


def kinds(actions: tuple[ActionView, ...]) -> list[str]:
    return [action.kind.value for action in actions]


# --- actions follow status ----------------------------------------------------------------------


def test_open_incident_offers_acknowledge_first_then_resolve_silence_escalate_playbooks_and_clustering() -> (
    None
):
    view = ordinary_view()
    assert kinds(view.actions) == [
        "acknowledge",
        "resolve",
        "silence",
        "silence",
        "silence",
        "escalate",
        "playbook",
        "playbook",
        "split",
        "merge",
    ]
    assert view.actions[0].style is ActionStyle.PRIMARY


def test_acknowledged_incident_offers_no_acknowledge_and_resolve_becomes_the_primary_action() -> None:
    view = ordinary_view(acknowledged())
    assert ActionKind.ACKNOWLEDGE not in {a.kind for a in view.actions}
    (resolve,) = view.actions_of(ActionKind.RESOLVE)
    assert resolve.style is ActionStyle.PRIMARY


def test_resolved_incident_offers_no_action_at_all() -> None:
    assert ordinary_view(resolved()).actions == ()


def test_escalation_split_and_merge_appear_only_when_offered() -> None:
    view = ordinary_view(can_escalate=False, offer_split=False, merge_candidates=[])
    assert not view.actions_of(ActionKind.ESCALATE, ActionKind.SPLIT, ActionKind.MERGE)


def test_one_run_action_per_distinct_playbook_carrying_its_name() -> None:
    too_long = "x" * (MAX_ARGUMENT_CHARS + 1)
    actions = incident_actions(
        1, 1, IncidentStatus.OPEN, playbooks=["restart", "rollback", "restart", too_long, "bad\nname"]
    )
    runs = [a for a in actions if a.kind is ActionKind.RUN_PLAYBOOK]
    assert [a.value.argument for a in runs] == ["restart", "rollback"]
    assert [a.id for a in runs] == ["nocbot.playbook.0", "nocbot.playbook.1"]
    assert all(a.confirm for a in runs)


def test_merge_candidates_exclude_the_incident_itself_and_are_capped() -> None:
    actions = incident_actions(5, 1, IncidentStatus.OPEN, merge_candidates=[5, 6, 6, 7, 8, 9, 10, 11])
    merges = [a.value.argument for a in actions if a.kind is ActionKind.MERGE]
    assert merges == ["6", "7", "8", "9"]


def test_action_ids_are_unique_within_a_card() -> None:
    ids = [a.id for a in ordinary_view().actions]
    assert len(ids) == len(set(ids))


# --- action values ------------------------------------------------------------------------------


def test_every_action_value_names_the_incident_and_the_version_it_was_drawn_from() -> None:
    view = ordinary_view()
    for action in view.actions:
        decoded = json.loads(action.value.encode())
        assert decoded["incident"] == 42
        assert decoded["version"] == 7
        assert decoded["action"] == action.kind.value


def test_encoded_value_format_is_compact_json_with_four_keys() -> None:
    value = ActionValue(42, 7, ActionKind.SILENCE, "4h")
    assert value.encode() == '{"incident":42,"version":7,"action":"silence","arg":"4h"}'


@given(
    incident=st.integers(0, MAX_ID),
    version=st.integers(0, MAX_ID),
    action=st.sampled_from(ActionKind),
    argument=st.text(max_size=MAX_ARGUMENT_CHARS).filter(str.isprintable),
)
def test_values_survive_the_round_trip_through_json_and_through_a_teams_data_object(
    incident: int, version: int, action: ActionKind, argument: str
) -> None:
    value = ActionValue(incident, version, action, argument)
    assert parse_action_value(value.encode()) == value
    assert parse_action_value(value.as_dict()) == value
    assert len(value.encode()) <= 2000


def test_the_longest_value_fits_a_slack_button_and_a_silence_value_a_menu_option() -> None:
    worst = ActionValue(MAX_ID, MAX_ID, ActionKind.RUN_PLAYBOOK, '"\\' * (MAX_ARGUMENT_CHARS // 2))
    assert len(worst.encode()) <= 2000
    silence = ActionValue(MAX_ID, MAX_ID, ActionKind.SILENCE, "custom")
    assert len(silence.encode()) <= 150


def test_teams_inputs_merged_into_data_are_ignored_by_the_parser() -> None:
    data = {**ActionValue(1, 2, ActionKind.SILENCE, "custom").as_dict(), "silence_hours": "3"}
    assert parse_action_value(data) == ActionValue(1, 2, ActionKind.SILENCE, "custom")


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"incident": 1, "version": 2}',
        '{"incident": 1, "version": 2, "action": "reboot", "arg": ""}',
        '{"incident": true, "version": 2, "action": "resolve", "arg": ""}',
        '{"incident": "1", "version": 2, "action": "resolve", "arg": ""}',
        '{"incident": -1, "version": 2, "action": "resolve", "arg": ""}',
        '{"incident": 1, "version": 2, "action": "resolve", "arg": 5}',
        '{"incident": 1, "version": 2, "action": ["resolve"], "arg": ""}',
        '{"incident": 1, "version": 2, "action": "playbook", "arg": "a\\u0000b"}',
        json.dumps(
            {"incident": 1, "version": 2, "action": "playbook", "arg": "x" * (MAX_ARGUMENT_CHARS + 1)}
        ),
    ],
)
def test_parser_refuses_anything_that_is_not_a_valid_value(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_action_value(raw)


def test_silence_arguments_map_to_durations_and_custom_to_none() -> None:
    assert [silence_seconds(p.argument) for p in SILENCE_PRESETS] == [3600, 14400, None]
    with pytest.raises(ValueError):
        silence_seconds("forever")


# --- what the builder shows ---------------------------------------------------------------------


def test_stored_reasons_are_read_from_phrases_texts_and_strings_and_only_the_top_three_kept() -> None:
    incident = record(reasons=[{"phrase": "a"}, {"text": "b"}, {"weight": 1}, 3, "c", "d"])
    view = build_incident_view(incident, now=NOW)
    assert view.reasons == ("a", "b", "c")


def test_a_fresh_assessment_wins_over_what_is_stored() -> None:
    assessment = PriorityAssessment(
        Priority.P1, 93.4, (Reason("customer_facing", "customer-facing service", 2.0),), "rules"
    )
    view = build_incident_view(record(), now=NOW, assessment=assessment)
    assert (view.priority, view.score, view.scorer, view.reasons) == (
        Priority.P1,
        93.4,
        "rules",
        ("customer-facing service",),
    )
    assert view.assessment_text == "P1 · score 93/100 (rules) — customer-facing service"
    assert view.badge == "🔴 P1"


def test_unscored_and_resolved_incidents_have_their_own_badges() -> None:
    assert build_incident_view(record(priority=None, score=None), now=NOW).badge == "⚫ unscored"
    assert build_incident_view(resolved(), now=NOW).badge == "✅ Resolved"


def test_status_says_who_and_when() -> None:
    assert build_incident_view(record(), now=NOW).status.text == "Open"
    ack = build_incident_view(acknowledged(), now=NOW).status
    assert (ack.status, ack.by, ack.text) == (
        IncidentStatus.ACKNOWLEDGED,
        "alice",
        "Acknowledged by alice · 11:59 UTC",
    )
    assert build_incident_view(resolved(), now=NOW).status.text == "Resolved by bob · 12:03 UTC"
    auto = build_incident_view(resolved(auto_resolved=True), now=NOW).status.text
    assert auto.startswith("Resolved automatically")


def test_duration_runs_to_now_while_open_and_stops_at_resolution() -> None:
    assert build_incident_view(record(), now=NOW).duration_text == "1 h 12 min"
    assert build_incident_view(resolved(), now=NOW + timedelta(days=3)).duration_text == "1 h 11 min"


def test_services_list_the_main_service_first_without_repeats() -> None:
    view = build_incident_view(record(service="payments", services=["checkout", "payments"]), now=NOW)
    assert view.services == ("payments", "checkout")


def test_times_are_shown_in_the_team_time_zone_with_as_much_date_as_needed() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert time_text(OPENED, NOW, berlin) == "11:52 CET"
    assert time_text(NOW - timedelta(days=2), NOW) == "Nov 9 12:04 UTC"
    assert time_text(NOW - timedelta(days=400), NOW) == "2025-10-07 12:04 UTC"
    view = build_incident_view(record(), now=NOW, tz=berlin)
    assert view.footer == "nocbot · incident #42 · updated 13:04 CET"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (3600, "1 h"),
        (4320, "1 h 12 min"),
        (86400 * 3 + 3600 * 4, "3 d 4 h"),
    ],
)
def test_durations_read_like_a_person_would_say_them(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_sparkline_scales_between_min_and_max_and_leaves_gaps_for_missing_points() -> None:
    assert sparkline([0.0, 7.0, float("nan"), 3.5]) == "▁█ ▅"
    assert sparkline([2.0, 2.0]) == "▄▄"
    assert sparkline([float("nan")]) == ""
    assert len(sparkline([float(i) for i in range(100)], width=30)) == 30


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>",
        "https://x.example/a b",
        'https://x.example/"onmouseover',
        "https://x.example/|forged",
        "https://x.example/>",
        "//x.example/no-scheme",
        "https://",
        "https://x.example/" + "a" * 2000,
        None,
        "",
    ],
)
def test_only_plain_http_links_are_kept(url: str | None) -> None:
    assert link_target(url) is None


def test_http_and_https_links_are_kept_as_they_are() -> None:
    assert link_target("https://wiki.example/runbooks/x?y=1#z") == "https://wiki.example/runbooks/x?y=1#z"
    assert link_target("HTTP://wiki.example/") == "HTTP://wiki.example/"


# --- fitting text -------------------------------------------------------------------------------


def html_like(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


@given(text=st.text(alphabet="a&<é🙂", max_size=400), limit=st.integers(0, 300))
def test_clip_never_exceeds_the_limit_nor_cuts_an_escape_in_half(text: str, limit: int) -> None:
    cut = clip(text, limit, html_like)
    assert len(cut) <= limit
    if len(html_like(text)) <= limit:
        assert cut == html_like(text)
    elif limit > 0:
        assert cut.endswith("…")
        # what precedes the ellipsis is the escape of a prefix (no entity cut in half), the longest that fits
        kept = [n for n in range(len(text) + 1) if html_like(text[:n]) == cut[:-1]]
        assert kept
        assert len(html_like(text[: max(kept) + 1])) + 1 > limit


@given(
    items=st.lists(st.text(alphabet="ab&<", max_size=200), max_size=60),
    limit=st.integers(40, 3000),
    head=st.text(alphabet="H", max_size=30),
)
def test_fit_items_stays_within_the_limit_and_counts_what_it_left_out(
    items: list[str], limit: int, head: str
) -> None:
    text = fit_items(items, lambda item, room: clip(item, room, html_like), limit, head=head)
    assert len(text) <= limit
    if "… and" in text:
        left_out = int(text.rsplit("… and ", 1)[1].split(" ")[0].replace(",", ""))
        shown = text.count("\n") - (1 if head else 0)
        assert shown + left_out == len(items)


def test_fit_items_marks_how_many_were_left_out() -> None:
    text = fit_items([f"line {i}" for i in range(1000)], lambda item, room: clip(item, room), 100)
    assert text.endswith(more_text(1000 - text.count("\n")))
    assert text.startswith("line 0\nline 1\n")
