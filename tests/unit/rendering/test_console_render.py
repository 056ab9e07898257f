"""The console's HTML card: everything escaped, buttons carry data attributes, no script anywhere."""

from __future__ import annotations

import copy

from bot.console.render import incident_html
from engine.view import Chart, IncidentView, SectionItem, ViewSection, parse_action_value
from tests.unit.rendering.factories import HOSTILE, acknowledged, huge_view, ordinary_view, record, resolved
from tests.unit.rendering.surfaces import ALLOWED_TAGS, parse


def hostile_view() -> IncidentView:
    return ordinary_view(
        record(title=HOSTILE, services=[HOSTILE]),
        sections=[
            ViewSection(
                HOSTILE,
                lines=(
                    SectionItem(HOSTILE, url="javascript:alert(1)"),
                    SectionItem(HOSTILE, url="https://ok.example/"),
                ),
                fields=(SectionItem(HOSTILE, label=HOSTILE),),
            )
        ],
        playbooks=[HOSTILE[:150]],
        chart=Chart('https://c.example/x.png"onerror="alert(1)', HOSTILE),
    )


def test_hostile_titles_and_labels_are_shown_as_text_never_as_markup() -> None:
    html = incident_html(hostile_view())
    page = parse(html)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    text = "".join(page.text)
    assert HOSTILE in text  # shown verbatim to the reader, once unescaped
    for _, attrs in page.tags:
        assert not any(name.startswith("on") or name == "style" for name in attrs)


def test_attributes_cannot_be_broken_out_of() -> None:
    page = parse(incident_html(hostile_view()))
    buttons = [attrs for tag, attrs in page.tags if tag == "button"]
    playbook = next(b for b in buttons if b["data-action"] == "nocbot.playbook.0")
    assert parse_action_value(playbook["data-value"] or "").argument == HOSTILE[:150]
    assert playbook["data-confirm"] == f"Run the playbook {HOSTILE[:150]} on this incident?"


def test_only_http_links_and_images_are_kept() -> None:
    page = parse(incident_html(hostile_view()))
    hrefs = [attrs.get("href") for tag, attrs in page.tags if tag == "a"]
    assert hrefs == ["https://ok.example/"]
    assert [tag for tag, _ in page.tags if tag == "img"] == []
    links = [attrs for tag, attrs in page.tags if tag == "a"]
    assert all(link.get("rel") == "noopener noreferrer" for link in links)


def test_buttons_carry_action_id_and_value_for_every_action_of_the_view() -> None:
    view = ordinary_view()
    page = parse(incident_html(view))
    buttons = [attrs for tag, attrs in page.tags if tag == "button"]
    assert [b["data-action"] for b in buttons] == [
        "nocbot.acknowledge",
        "nocbot.resolve",
        "nocbot.escalate",
        "nocbot.silence.1h",
        "nocbot.silence.4h",
        "nocbot.silence.custom",
        "nocbot.playbook.0",
        "nocbot.playbook.1",
        "nocbot.split",
        "nocbot.merge.41",
    ]
    assert sorted(parse_action_value(b["data-value"] or "").encode() for b in buttons) == sorted(
        a.value.encode() for a in view.actions
    )
    assert all(b["type"] == "button" for b in buttons)


def test_actions_follow_status() -> None:
    ack = [
        attrs["data-action"]
        for tag, attrs in parse(incident_html(ordinary_view(acknowledged()))).tags
        if tag == "button"
    ]
    assert "nocbot.acknowledge" not in ack and "nocbot.resolve" in ack
    assert "<button" not in incident_html(ordinary_view(resolved()))


def test_card_shows_the_same_facts_as_the_chat_cards() -> None:
    text = "".join(parse(incident_html(ordinary_view())).text)
    for expected in (
        "🟠 P2",
        "Checkout error rate above 5%",
        "score 71/100 (xgboost)",
        "checkout, payments",
        "10:52 UTC",
        "1 h 12 min",
        "Recent changes",
        "nocbot · incident #42 · updated 12:04 UTC",
    ):
        assert expected in text


def test_a_huge_incident_is_cut_to_a_page_a_browser_opens_quickly() -> None:
    html = incident_html(huge_view())
    assert len(html) < 5_000_000
    assert "more sections" in html and "… and 4,950 more" in html
    parse(html)


def test_rendering_is_pure_same_view_same_html() -> None:
    view = ordinary_view()
    assert incident_html(view) == incident_html(copy.deepcopy(view))
