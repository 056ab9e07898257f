"""Adaptive Card 1.5 (what Teams renders) for an incident: the Block Kit card's content and actions.

Buttons are `Action.Execute` (Universal Actions): Teams sends the bot an `adaptiveCard/action` invoke
with the `verb` and `data`, and the bot answers it with the updated card, which replaces the card
for everyone in the chat. That is the "update, never re-post" model the outbox follows, and the
invoke gives the clicking user an error inline when an action fails. `Action.Submit` would post a
message activity instead, and the card would need a separate update call.

`data` is the ActionValue as an object (`engine.view.parse_action_value` reads it back). The custom
silence duration is typed into an input on the card and arrives in the same `data` under
CUSTOM_SILENCE_INPUT_ID.

Teams refuses cards over 28 KB, so the card is built at the most detailed level that fits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.view import (
    ActionKind,
    ActionStyle,
    ActionView,
    IncidentView,
    SectionItem,
    ViewSection,
    clip,
    fit_items,
    link_target,
    more_text,
)

Card = dict[str, Any]

CARD_VERSION = "1.5"
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_CARD_BYTES = 27_000  # Teams' limit is 28 KB for the whole activity; the card leaves room for it
CUSTOM_SILENCE_INPUT_ID = "silence_hours"
TITLE_CHARS = 300
FACT_CHARS = 300
SUMMARY_CHARS = 600
MAX_FACTS = 10

_ACTION_STYLES = {ActionStyle.PRIMARY: "positive", ActionStyle.DANGER: "destructive"}
_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\*_[]`~"})


@dataclass(frozen=True, slots=True)
class _Detail:
    """How much of the enrichment a card shows; less detail when the card would be too large."""

    sections: int
    lines: int
    line_chars: int
    playbooks: int


_DETAILS = (
    _Detail(sections=12, lines=12, line_chars=300, playbooks=20),
    _Detail(sections=6, lines=6, line_chars=160, playbooks=10),
    _Detail(sections=3, lines=3, line_chars=80, playbooks=5),
    _Detail(sections=0, lines=0, line_chars=0, playbooks=0),
)


def escape(text: str) -> str:
    """Markdown specials as literals: an alert label must not become a link or emphasis."""
    return text.translate(_MARKDOWN_SPECIALS)


def incident_card(view: IncidentView) -> Card:
    card = _card(view, _DETAILS[0])
    for detail in _DETAILS[1:]:
        if card_bytes(card) <= MAX_CARD_BYTES:
            break
        card = _card(view, detail)
    return card


def timeline_card(text: str, actions: Sequence[ActionView]) -> Card:
    """A thread reply that offers buttons (approve or deny a playbook run)."""
    return {
        "$schema": SCHEMA_URL,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": clip(text, SUMMARY_CHARS),
        "body": [_text(text, SUMMARY_CHARS)],
        "actions": [_execute(action) for action in actions],
    }


def card_bytes(card: Card) -> int:
    return len(json.dumps(card, ensure_ascii=False).encode("utf-8"))


def _card(view: IncidentView, detail: _Detail) -> Card:
    body: list[Card] = [
        _text(
            f"{view.badge} · {view.title or 'untitled incident'}",
            TITLE_CHARS,
            size="large",
            weight="bolder",
            style="heading",
        ),
        _text(view.assessment_text, SUMMARY_CHARS, isSubtle=True, spacing="none"),
        _facts(view),
        *_visuals(view),
    ]
    actions = _actions(view, detail)
    if actions:
        body.append({"type": "ActionSet", "actions": actions})
    body += _sections(view.sections, detail)
    body.append(_footer(view))
    return {
        "$schema": SCHEMA_URL,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": clip(f"{view.badge} · {view.title} — {view.status.text}", SUMMARY_CHARS),
        "body": body,
        "msteams": {"width": "Full"},
    }


def _facts(view: IncidentView) -> Card:
    services = fit_items(
        view.services, lambda name, room: clip(name, room, escape), FACT_CHARS, separator=", "
    )
    facts = [
        _fact("Status", clip(view.status.text, FACT_CHARS, escape)),
        _fact("Services", services),
        _fact("Alerts", clip(view.alert_count_text, FACT_CHARS, escape)),
        _fact("Started", clip(view.started_text, FACT_CHARS, escape)),
        _fact("Duration", clip(view.duration_text, FACT_CHARS, escape)),
    ]
    return {"type": "FactSet", "facts": facts}


def _visuals(view: IncidentView) -> list[Card]:
    elements: list[Card] = []
    url = link_target(view.chart.url) if view.chart else None
    if view.chart and url:
        elements.append(
            {"type": "Image", "url": url, "altText": clip(view.chart.alt_text or "incident chart", 300)}
        )
    if view.sparkline:
        elements.append(_text(view.sparkline, 300, fontType="monospace", spacing="small"))
    return elements


def _actions(view: IncidentView, detail: _Detail) -> list[Card]:
    actions = [_execute(a) for a in view.actions_of(ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE)]
    silences = view.actions_of(ActionKind.SILENCE)
    if silences:
        actions.append(_silence_card(silences))
    actions += [_execute(a) for a in view.actions_of(ActionKind.ESCALATE)]
    playbooks = view.actions_of(ActionKind.RUN_PLAYBOOK)
    if playbooks:
        actions.append(_playbook_card(playbooks, detail.playbooks))
    # Clustering corrections are rare: the overflow menu keeps them out of the way.
    actions += [_execute(a, mode="secondary") for a in view.actions_of(ActionKind.SPLIT, ActionKind.MERGE)]
    return actions


def _execute(action: ActionView, **extra: Any) -> Card:
    execute: Card = {
        "type": "Action.Execute",
        "id": action.id,
        "title": clip(action.label, 75),
        "verb": action.kind.value,
        "data": action.value.as_dict(),
        **extra,
    }
    if action.style in _ACTION_STYLES:
        execute["style"] = _ACTION_STYLES[action.style]
    return execute


def _silence_card(silences: Sequence[ActionView]) -> Card:
    """Presets ignore the hours input; the custom action requires it."""
    hours = {
        "type": "Input.Number",
        "id": CUSTOM_SILENCE_INPUT_ID,
        "label": "Hours (for a custom silence)",
        "min": 0.25,
        "max": 720,
        "placeholder": "e.g. 2",
    }
    actions = [
        _execute(a) if a.value.argument == "custom" else _execute(a, associatedInputs="None")
        for a in silences
    ]
    card = {"type": "AdaptiveCard", "body": [hours], "actions": actions}
    return {"type": "Action.ShowCard", "title": "Silence…", "card": card}


def _playbook_card(playbooks: Sequence[ActionView], limit: int) -> Card:
    shown = playbooks[:limit]
    body: list[Card] = [_text("Runs on this incident; each step is shown in the thread.", 200, isSubtle=True)]
    if len(shown) < len(playbooks):
        body.append(
            _text(more_text(len(playbooks) - len(shown)) + " playbooks in the console", 200, isSubtle=True)
        )
    card = {"type": "AdaptiveCard", "body": body, "actions": [_execute(a) for a in shown]}
    return {"type": "Action.ShowCard", "title": "Run playbook…", "card": card}


def _sections(sections: Sequence[ViewSection], detail: _Detail) -> list[Card]:
    shown = sections[: detail.sections]
    elements: list[Card] = []
    for section in shown:
        elements.append(_text(section.heading or "—", 150, weight="bolder", separator=True))
        elements += _section_body(section, detail)
    if len(shown) < len(sections):
        elements.append(_text(more_text(len(sections) - len(shown)) + " sections", 100, isSubtle=True))
    return elements


def _section_body(section: ViewSection, detail: _Detail) -> list[Card]:
    elements: list[Card] = []
    if section.lines:
        lines = section.lines[: detail.lines]
        bullet = "• " if len(section.lines) > 1 else ""
        text = "\n\n".join(bullet + _linked(item, detail.line_chars) for item in lines)  # markdown paragraphs
        if len(lines) < len(section.lines):
            text += "\n\n" + more_text(len(section.lines) - len(lines))
        elements.append({"type": "TextBlock", "text": text, "wrap": True, "spacing": "small"})
    if section.fields:
        fields = section.fields[: min(detail.lines, MAX_FACTS)]
        facts = [_fact(item.label or "—", _linked(item, detail.line_chars)) for item in fields]
        if len(fields) < len(section.fields):
            facts.append(_fact("…", more_text(len(section.fields) - len(fields))))
        elements.append({"type": "FactSet", "facts": facts})
    return elements


def _linked(item: SectionItem, limit: int) -> str:
    text = clip(item.text or "—", limit, escape)
    target = link_target(item.url)
    return _markdown_link(text, target) if target else text


def _markdown_link(text: str, url: str) -> str:
    # A parenthesis in the URL would end the markdown link early.
    return f"[{text}]({url.replace('(', '%28').replace(')', '%29')})"


def _footer(view: IncidentView) -> Card:
    text = clip(view.footer, 200, escape)
    url = link_target(view.console_url)
    if url:
        text += " · " + _markdown_link("Open in console", url)
    return _text(text, len(text), raw=True, isSubtle=True, size="small", separator=True)


def _fact(title: str, value: str) -> Card:
    return {"title": clip(title, 100, escape) or "—", "value": value or "—"}


def _text(text: str, limit: int, *, raw: bool = False, **props: Any) -> Card:
    """A wrapping TextBlock; `text` is escaped and cut to `limit` unless it is `raw` markdown."""
    shown = text if raw else clip(text, limit, escape)
    return {"type": "TextBlock", "text": shown or "—", "wrap": True, **props}
