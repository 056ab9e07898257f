"""Adaptive Card: valid 1.5 by the official schema, small enough for Teams, same actions as Slack."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.view import ActionValue, Chart, SectionItem, ViewSection, build_incident_view, parse_action_value
from integrations.slack_blocks import incident_blocks
from integrations.teams_cards import CUSTOM_SILENCE_INPUT_ID, MAX_CARD_BYTES, card_bytes, incident_card
from tests.unit.rendering.adaptive_schema import card_errors, official_schema
from tests.unit.rendering.factories import (
    HOSTILE,
    NOW,
    acknowledged,
    huge_view,
    ordinary_view,
    record,
    resolved,
)
from tests.unit.rendering.surfaces import action_values, executes

Card = dict[str, Any]
TEAMS_LIMIT_BYTES = 28 * 1024  # Teams refuses a message (card included) above this

VIEWS = {
    "open": lambda: ordinary_view(),
    "acknowledged": lambda: ordinary_view(acknowledged()),
    "resolved": lambda: ordinary_view(resolved()),
    "bare": lambda: build_incident_view(record(priority=None, score=None, reasons=[], services=[]), now=NOW),
    "hostile": lambda: ordinary_view(
        record(title=HOSTILE, services=[HOSTILE]),
        sections=[
            ViewSection(HOSTILE, lines=(SectionItem(HOSTILE),), fields=(SectionItem(HOSTILE, label=HOSTILE),))
        ],
    ),
    "huge": huge_view,
}


def text_blocks(card: Card) -> list[str]:
    return [item["text"] for item in card["body"] if item["type"] == "TextBlock"]


def action_set(card: Card) -> list[Card]:
    sets = [item for item in card["body"] if item["type"] == "ActionSet"]
    return sets[0]["actions"] if sets else []


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_card_validates_against_the_adaptive_card_1_5_schema(name: str) -> None:
    assert card_errors(incident_card(VIEWS[name]())) == []


def test_the_schema_used_is_the_official_1_5_one() -> None:
    schema = official_schema()
    assert schema["id"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert "Table" in schema["definitions"]  # added in 1.5
    versions = {d.get("version") for d in schema["definitions"].values()} - {None}
    assert max(versions) == "1.5"


@pytest.mark.parametrize(
    "breakage",
    [
        lambda card: card["body"].append({"type": "Carousel", "pages": []}),
        lambda card: card["body"].append({"type": "TextBlock"}),
        lambda card: card["body"][0].update(size="huge"),
        lambda card: card["body"][0].update(colour="accent"),
        lambda card: card.update(msteams={"width": "Wide"}),
        lambda card: card.update(version=1.5),
        lambda card: action_set(card)[0].update(verb=["acknowledge"]),
        lambda card: action_set(card)[0].update(confirm="sure?"),
        lambda card: card["body"].append({"type": "FactSet", "facts": [{"title": "a"}]}),
        lambda card: card["body"].append({"type": "Input.Number"}),
    ],
)
def test_the_schema_check_rejects_broken_cards(breakage: Any) -> None:
    card = incident_card(ordinary_view())
    breakage(card)
    assert card_errors(card) != []


def test_card_is_version_1_5_and_full_width_in_teams() -> None:
    card = incident_card(ordinary_view())
    assert (card["type"], card["version"], card["msteams"]) == ("AdaptiveCard", "1.5", {"width": "Full"})
    assert card["fallbackText"] == "🟠 P2 · Checkout error rate above 5% — Open"


def test_card_shows_title_assessment_facts_and_sections() -> None:
    card = incident_card(ordinary_view())
    texts = text_blocks(card)
    assert texts[0] == "🟠 P2 · Checkout error rate above 5%"
    assert texts[1].startswith("P2 · score 71/100 (xgboost) — customer-facing service")
    facts = next(item for item in card["body"] if item["type"] == "FactSet")["facts"]
    assert [(f["title"], f["value"]) for f in facts] == [
        ("Status", "Open"),
        ("Services", "checkout, payments"),
        ("Alerts", "14"),
        ("Started", "10:52 UTC"),
        ("Duration", "1 h 12 min"),
    ]
    assert "Recent changes" in texts
    assert "• [deploy checkout v2.14.1 by carol, 12 min before](https://ci.example/builds/991)" in "\n".join(
        texts
    )
    images = [item for item in card["body"] if item["type"] == "Image"]
    assert images == [
        {"type": "Image", "url": "https://nocbot.example/charts/42.png", "altText": "error rate, last 2 h"}
    ]


def test_card_offers_the_same_actions_as_the_slack_card_in_the_same_order() -> None:
    view = ordinary_view()
    teams = [parse_action_value(action["data"]) for action in executes(incident_card(view)["body"])]
    slack = [parse_action_value(value) for value in action_values(incident_blocks(view))]
    assert teams == slack == [action.value for action in view.actions]


def test_each_action_executes_with_the_kind_as_verb_the_value_as_data_and_the_view_id() -> None:
    view = ordinary_view()
    found = list(executes(incident_card(view)["body"]))
    assert [(a["id"], a["verb"], a["title"]) for a in found] == [
        (v.id, v.kind.value, v.label) for v in view.actions
    ]
    assert found[0]["data"] == {"incident": 42, "version": 7, "action": "acknowledge", "arg": ""}
    assert found[0]["style"] == "positive"
    assert next(a for a in found if a["verb"] == "escalate")["style"] == "destructive"


def test_custom_silence_asks_for_hours_and_only_the_custom_action_sends_them() -> None:
    silence = next(a for a in action_set(incident_card(ordinary_view())) if a.get("title") == "Silence…")
    (hours,) = silence["card"]["body"]
    assert (hours["type"], hours["id"]) == ("Input.Number", CUSTOM_SILENCE_INPUT_ID)
    by_arg = {action["data"]["arg"]: action for action in silence["card"]["actions"]}
    assert by_arg["1h"]["associatedInputs"] == "None"
    assert by_arg["4h"]["associatedInputs"] == "None"
    assert "associatedInputs" not in by_arg["custom"]


def test_clustering_corrections_go_to_the_overflow_menu() -> None:
    actions = action_set(incident_card(ordinary_view()))
    secondary = [a["verb"] for a in actions if a.get("mode") == "secondary"]
    assert secondary == ["split", "merge"]


def test_acknowledged_card_has_no_acknowledge_and_resolved_card_no_actions() -> None:
    verbs = [a["verb"] for a in executes(incident_card(ordinary_view(acknowledged()))["body"])]
    assert "acknowledge" not in verbs and "resolve" in verbs
    resolved_card = incident_card(ordinary_view(resolved()))
    assert [item for item in resolved_card["body"] if item["type"] == "ActionSet"] == []


def test_hostile_text_cannot_become_a_link_or_emphasis() -> None:
    card = incident_card(VIEWS["hostile"]())
    texts = "\n".join(text_blocks(card))
    assert "[click](http://evil.example)" not in texts
    assert "\\[click\\](http://evil.example) \\*b\\* \\_i\\_" in texts
    facts = [fact for item in card["body"] if item["type"] == "FactSet" for fact in item["facts"]]
    assert all("[click](" not in fact["value"] and "[click](" not in fact["title"] for fact in facts)


def test_unsafe_urls_are_neither_links_nor_images() -> None:
    view = ordinary_view(
        chart=Chart("javascript:alert(1)", "x"),
        sections=[ViewSection("s", lines=(SectionItem("t", url="javascript:alert(1)"),))],
        console_url="data:text/html,x",
    )
    card = incident_card(view)
    assert "javascript:" not in str(card) and "data:text" not in str(card)


def test_a_huge_incident_fits_in_a_teams_message_with_less_detail() -> None:
    view = huge_view()
    card = incident_card(view)
    assert card_bytes(card) <= MAX_CARD_BYTES < TEAMS_LIMIT_BYTES
    assert card_errors(card) == []
    assert any("more sections" in text for text in text_blocks(card))
    shown = [parse_action_value(a["data"]) for a in executes(card["body"])]
    assert shown and all(isinstance(value, ActionValue) for value in shown)


def test_rendering_is_pure_same_view_same_card() -> None:
    view = ordinary_view()
    twin = copy.deepcopy(view)
    first = incident_card(view)
    assert incident_card(view) == first
    assert incident_card(twin) == first


def test_a_playbook_approval_reply_validates_and_carries_the_run() -> None:
    from engine.view import ActionKind, parse_action_value, reply_actions
    from integrations.teams_cards import timeline_card

    actions = reply_actions(7, "playbook_requested", {"run_id": 12, "playbook": "restart"})
    card = timeline_card("Ana requested playbook restart — waiting for approval", actions)
    assert card_errors(card) == []
    data = [parse_action_value(action["data"]) for action in card["actions"]]
    assert [(d.action, d.argument) for d in data] == [
        (ActionKind.APPROVE_RUN, "12"),
        (ActionKind.DENY_RUN, "12"),
    ]
    assert reply_actions(7, "playbook_step", {"run_id": 12}) == ()
    assert reply_actions(7, "playbook_requested", {"run_id": "12; drop"}) == ()
