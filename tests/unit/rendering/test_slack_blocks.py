"""Block Kit: every Slack limit holds for any incident, and the card says what a responder needs."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from engine.view import (
    ActionKind,
    ActionValue,
    ActionView,
    Chart,
    IncidentView,
    SectionItem,
    ViewSection,
    build_incident_view,
    parse_action_value,
)
from integrations.slack_blocks import (
    MAX_MESSAGE_CHARS,
    SILENCE_MENU_ACTION_ID,
    ephemeral_error,
    incident_blocks,
    incident_fallback_text,
    incident_message,
    message_chars,
    timeline_message,
)
from tests.unit.rendering.factories import (
    HOSTILE,
    NOW,
    acknowledged,
    huge_view,
    ordinary_view,
    record,
    resolved,
)
from tests.unit.rendering.slack_limits import LIMITS, slack_violations
from tests.unit.rendering.surfaces import action_values, elements, of_type

Block = dict[str, Any]


@pytest.fixture(scope="module")
def huge() -> list[Block]:
    return incident_blocks(huge_view())


def all_text(blocks: list[Block]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


# --- the 5,000-alert incident, one limit at a time ----------------------------------------------


def test_huge_incident_has_at_most_50_blocks(huge: list[Block]) -> None:
    assert len(huge) <= 50


def test_huge_incident_header_is_at_most_150_characters(huge: list[Block]) -> None:
    (header,) = of_type(huge, "header")
    assert 0 < len(header["text"]["text"]) <= 150
    assert header["text"]["text"].endswith("…")


def test_huge_incident_section_texts_are_at_most_3000_characters(huge: list[Block]) -> None:
    sections = [block for block in of_type(huge, "section") if "text" in block]
    assert sections
    assert all(len(block["text"]["text"]) <= 3000 for block in sections)


def test_huge_incident_sections_have_at_most_10_fields_of_at_most_2000_characters(huge: list[Block]) -> None:
    with_fields = [block for block in of_type(huge, "section") if "fields" in block]
    assert len(with_fields) >= 2  # the facts, and the section with 40 key/value fields
    for block in with_fields:
        assert len(block["fields"]) <= 10
        assert all(len(field["text"]) <= 2000 for field in block["fields"])


def test_huge_incident_actions_blocks_have_at_most_25_elements(huge: list[Block]) -> None:
    actions = of_type(huge, "actions")
    assert actions
    assert all(len(block["elements"]) <= 25 for block in actions)


def test_huge_incident_button_texts_are_at_most_75_and_values_at_most_2000_characters(
    huge: list[Block],
) -> None:
    buttons = [element for element in elements(huge) if element["type"] == "button"]
    assert any(len(button["value"]) > 150 for button in buttons)  # the long playbook names are there
    for button in buttons:
        assert len(button["text"]["text"]) <= 75
        assert len(button["value"]) <= 2000
        assert len(button["action_id"]) <= 255


def test_huge_incident_silence_options_have_values_of_at_most_150_characters(huge: list[Block]) -> None:
    (menu,) = [element for element in elements(huge) if element["type"] == "static_select"]
    assert all(
        len(option["value"]) <= 150 and len(option["text"]["text"]) <= 75 for option in menu["options"]
    )


def test_huge_incident_context_blocks_have_at_most_10_elements(huge: list[Block]) -> None:
    contexts = of_type(huge, "context")
    assert contexts
    assert all(1 <= len(block["elements"]) <= 10 for block in contexts)
    assert all(len(element["text"]) <= 3000 for block in contexts for element in block["elements"])


def test_huge_incident_image_alt_text_is_at_most_2000_characters(huge: list[Block]) -> None:
    (image,) = of_type(huge, "image")
    assert 0 < len(image["alt_text"]) <= 2000
    assert len(image["image_url"]) <= 3000


def test_huge_incident_stays_under_the_cumulative_size_slack_accepts(huge: list[Block]) -> None:
    assert message_chars(huge) <= MAX_MESSAGE_CHARS <= LIMITS["message_chars"]


def test_huge_incident_leaves_out_playbooks_whose_names_cannot_be_carried(huge: list[Block]) -> None:
    arguments = [parse_action_value(value).argument for value in action_values(huge)]
    assert any(argument.startswith("playbook-0-") for argument in arguments)
    assert not any(argument.startswith("too-long-") for argument in arguments)


def test_huge_incident_passes_every_check_at_once(huge: list[Block]) -> None:
    assert slack_violations(huge) == []


def test_huge_incident_says_what_it_left_out(huge: list[Block]) -> None:
    text = all_text(huge)
    assert "more sections in the console" in text
    assert "more actions in the console" in text
    facts = of_type(huge, "section")[0]
    services = next(field["text"] for field in facts["fields"] if field["text"].startswith("*Services*"))
    assert "… and 4,99" in services or "… and 5,000 more" in services


def test_a_worst_case_incident_made_of_escapes_and_maximal_links_still_fits() -> None:
    nasty = '"&<>\\' * 2000
    url = "https://x.example/" + "q" * 980
    incident = record(
        title=nasty, service=nasty, services=[nasty] * 300, reasons=[nasty] * 10, alert_count=10**9
    )
    playbooks = [f"{i}" + '"\\' * 99 for i in range(200)]
    sections = [
        ViewSection(
            nasty,
            lines=tuple(SectionItem(nasty, url=url) for _ in range(300)),
            fields=tuple(SectionItem(nasty, label=nasty, url=url) for _ in range(30)),
        )
        for _ in range(100)
    ]
    view = build_incident_view(
        incident,
        now=NOW,
        sections=sections,
        playbooks=playbooks,
        chart=Chart(url, nasty),
        series=[1.0] * 500,
        can_escalate=True,
        offer_split=True,
        merge_candidates=[2**63 - 1 - i for i in range(10)],
        console_url=url,
    )
    blocks = incident_blocks(view)
    assert slack_violations(blocks) == []
    assert message_chars(blocks) <= MAX_MESSAGE_CHARS


def test_a_view_with_more_actions_than_one_block_holds_is_spread_over_several() -> None:
    view = ordinary_view()
    merges = tuple(
        ActionView(f"nocbot.merge.{n}", f"Merge into #{n}", ActionValue(42, 7, ActionKind.MERGE, str(n)))
        for n in range(1000, 1040)
    )
    blocks = incident_blocks(replace(view, actions=view.actions + merges))
    assert slack_violations(blocks) == []
    sizes = [len(block["elements"]) for block in of_type(blocks, "actions")]
    assert 25 in sizes and 42 - 25 in sizes  # split and 41 merges, over two blocks


# --- the checker itself can fail ----------------------------------------------------------------


def _button(**overrides: Any) -> Block:
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "a", "value": "v"}
    return {**button, **overrides}


@pytest.mark.parametrize(
    ("blocks", "limit"),
    [
        ([{"type": "divider"}] * 51, "blocks"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3000}}] * 5, "message_chars"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "header_text"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}], "section_text"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "fields"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "field_text"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "context_elements"),
        (
            [{"type": "actions", "elements": [_button(action_id=str(i)) for i in range(26)]}],
            "action_elements",
        ),
        (
            [{"type": "actions", "elements": [_button(text={"type": "plain_text", "text": "b" * 76})]}],
            "button_text",
        ),
        ([{"type": "actions", "elements": [_button(value="v" * 2001)]}], "button_value"),
        ([{"type": "actions", "elements": [_button(action_id="a" * 256)]}], "action_id"),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "static_select",
                            "action_id": "s",
                            "options": [{"text": {"type": "plain_text", "text": "o"}, "value": "v" * 151}],
                        }
                    ],
                }
            ],
            "option_value",
        ),
        ([{"type": "image", "image_url": "https://x/i.png", "alt_text": "a" * 2001}], "alt_text"),
    ],
)
def test_the_limit_checker_reports_each_crossed_limit(blocks: list[Block], limit: str) -> None:
    assert any(limit in violation for violation in slack_violations(blocks))


def test_the_limit_checker_reports_empty_texts_and_duplicate_action_ids() -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": " "}},
        {"type": "actions", "elements": [_button(), _button()]},
    ]
    found = slack_violations(blocks)
    assert any("empty text" in v for v in found)
    assert any("used twice" in v for v in found)
    assert LIMITS["blocks"] == 50


# --- what the card says -------------------------------------------------------------------------


def test_header_carries_the_priority_badge_and_the_title() -> None:
    blocks = incident_blocks(ordinary_view())
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "🟠 P2 · Checkout error rate above 5%", "emoji": True},
    }


def test_context_line_gives_score_scorer_and_reasons() -> None:
    context = incident_blocks(ordinary_view())[1]
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == (
        "P2 · score 71/100 (xgboost) — customer-facing service · 14 alerts · change 12 min before it started"
    )


def test_facts_show_status_services_alerts_start_and_duration() -> None:
    facts = incident_blocks(ordinary_view(acknowledged(alert_count=5000)))[2]
    assert [field["text"] for field in facts["fields"]] == [
        "*Status*\nAcknowledged by alice · 11:59 UTC",
        "*Services*\ncheckout, payments",
        "*Alerts*\n5,000",
        "*Started*\n10:52 UTC",
        "*Duration*\n1 h 12 min",
    ]


def test_chart_is_an_image_block_and_the_sparkline_a_context_line() -> None:
    blocks = incident_blocks(ordinary_view())
    assert of_type(blocks, "image") == [
        {
            "type": "image",
            "image_url": "https://nocbot.example/charts/42.png",
            "alt_text": "error rate, last 2 h",
        }
    ]
    assert any(e["text"] == "`▁▁▁▃██`" for block in of_type(blocks, "context") for e in block["elements"])


def test_a_chart_with_an_unsafe_url_is_left_out() -> None:
    blocks = incident_blocks(ordinary_view(chart=Chart("javascript:alert(1)", "x")))
    assert of_type(blocks, "image") == []


def test_buttons_have_stable_action_ids_and_silence_is_one_menu() -> None:
    found = elements(incident_blocks(ordinary_view()))
    assert [element["action_id"] for element in found] == [
        "nocbot.acknowledge",
        "nocbot.resolve",
        SILENCE_MENU_ACTION_ID,
        "nocbot.escalate",
        "nocbot.playbook.0",
        "nocbot.playbook.1",
        "nocbot.split",
        "nocbot.merge.41",
    ]
    menu = found[2]
    assert [option["text"]["text"] for option in menu["options"]] == [
        "Silence 1 h",
        "Silence 4 h",
        "Silence for…",
    ]
    escalate = found[3]
    assert escalate["style"] == "danger"
    assert escalate["confirm"]["text"]["text"] == "Page the on-call responder through PagerDuty?"


def test_every_button_and_option_value_parses_back_to_an_action_of_the_view() -> None:
    view = ordinary_view()
    parsed = [parse_action_value(value) for value in action_values(incident_blocks(view))]
    assert parsed == [action.value for action in view.actions]


def test_acknowledged_card_has_no_acknowledge_button() -> None:
    ids = [element["action_id"] for element in elements(incident_blocks(ordinary_view(acknowledged())))]
    assert "nocbot.acknowledge" not in ids
    assert "nocbot.resolve" in ids


def test_resolved_card_has_no_actions_block() -> None:
    blocks = incident_blocks(ordinary_view(resolved()))
    assert of_type(blocks, "actions") == []
    assert blocks[0]["text"]["text"].startswith("✅ Resolved · ")


def test_enrichment_sections_are_headed_and_links_are_slack_links() -> None:
    sections = [block for block in of_type(incident_blocks(ordinary_view()), "section") if "text" in block]
    changes = sections[0]["text"]["text"]
    assert changes.startswith("*Recent changes*\n• <https://ci.example/builds/991|deploy checkout v2.14.1")
    owner = sections[2]
    assert owner["fields"][1]["text"] == "*Runbook*\n<https://wiki.example/runbooks/checkout|runbook>"


def test_hostile_text_cannot_mention_link_or_break_out_of_mrkdwn() -> None:
    section = ViewSection(HOSTILE, lines=(SectionItem(HOSTILE, url="javascript:alert(1)"),))
    view = ordinary_view(record(title=HOSTILE, services=[HOSTILE]), sections=[section])
    blocks = incident_blocks(view)
    mrkdwn = [
        obj
        for block in blocks
        for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        if isinstance(obj, dict) and obj.get("type") == "mrkdwn"
    ]
    assert mrkdwn and all(obj["verbatim"] is True for obj in mrkdwn)
    for obj in mrkdwn:
        assert (
            "<!channel>" not in obj["text"]
            and "<@U123>" not in obj["text"]
            and "javascript:" not in obj["text"]
        )
    assert "&lt;!channel&gt;" in all_text(blocks)
    assert "<!channel>" not in incident_fallback_text(view)


def test_fallback_text_is_one_short_line_for_notifications() -> None:
    text = incident_fallback_text(ordinary_view())
    assert text == "🟠 P2 · Checkout error rate above 5% — Open — 14 alerts · checkout, payments"
    assert len(incident_fallback_text(huge_view())) <= 1000


def test_incident_message_gives_text_and_blocks_for_post_and_update() -> None:
    view = ordinary_view()
    assert incident_message(view) == {"text": incident_fallback_text(view), "blocks": incident_blocks(view)}


# --- thread replies and errors ------------------------------------------------------------------


def test_timeline_entry_is_one_escaped_section() -> None:
    assert timeline_message("alice acknowledged <!here>") == [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "alice acknowledged &lt;!here&gt;", "verbatim": True},
        }
    ]


def test_a_long_timeline_entry_is_cut_with_a_count_of_the_lines_left_out() -> None:
    blocks = timeline_message("\n".join(f"alert {i} joined" for i in range(5000)))
    assert slack_violations(blocks) == []
    assert blocks[0]["text"]["text"].endswith("more")
    assert timeline_message("")[0]["text"]["text"] == "—"


def test_ephemeral_error_says_what_failed_and_what_to_do() -> None:
    blocks = ephemeral_error(
        "Incident #42 changed since this card was drawn.", "The card has been refreshed."
    )
    assert blocks[0]["text"]["text"] == ":warning: Incident #42 changed since this card was drawn."
    assert blocks[1]["elements"][0]["text"] == "The card has been refreshed."
    assert slack_violations(ephemeral_error("x" * 10_000, "y" * 10_000)) == []


# --- purity -------------------------------------------------------------------------------------


def test_rendering_is_pure_same_view_same_blocks() -> None:
    view = ordinary_view()
    twin = copy.deepcopy(view)
    first = incident_blocks(view)
    assert incident_blocks(view) == first
    assert incident_blocks(twin) == first
    assert view == twin


def test_an_ordinary_card_offers_every_kind_of_action() -> None:
    view: IncidentView = ordinary_view()
    run_actions = {ActionKind.APPROVE_RUN, ActionKind.DENY_RUN, ActionKind.CANCEL_RUN}  # thread replies
    offered = {parse_action_value(v).action for v in action_values(incident_blocks(view))}
    assert offered == set(ActionKind) - run_actions
