"""Block Kit for an incident: readable in five seconds, and within Slack's limits for any incident.

Slack rejects a whole message when one limit is crossed, so every text is cut to its limit here (with
"… and N more" where a list was cut). Besides the documented per-element limits, Slack refuses
messages whose blocks add up to too much text (`msg_blocks_too_long`, undocumented, seen from about
12,000 characters): the card is built at the most detailed level whose JSON stays under
MAX_MESSAGE_CHARS. The header, facts and triage actions show at every level; enrichment and playbook
buttons shrink, and the least detailed level has none (the console has them all).

Untrusted text (titles, labels, enrichment) is escaped for mrkdwn and sent `verbatim`, so an alert
label can neither forge a link nor ping @channel.
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

Block = dict[str, Any]

# Slack's limits (https://api.slack.com/reference/block-kit) that the code below cuts to. The others
# hold by construction: an ActionValue encodes to at most 2,000 characters (150 for a silence), a
# link_target URL is at most 1,000, and the readability limits below keep fields and alt texts short.
MAX_BLOCKS = 50
MAX_TEXT = 3000  # a section's text, any text object
MAX_HEADER = 150
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
MAX_OPTION_TEXT = 75
MAX_PLACEHOLDER = 150
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30

# Not documented: the JSON of all blocks is kept under this, below where Slack was seen to refuse.
MAX_MESSAGE_CHARS = 12_000

# Readability: far below Slack's limits, so that one huge label cannot fill the card.
LINE_CHARS = 300
FIELD_CHARS = 200
SUMMARY_CHARS = 300
ALT_TEXT_CHARS = 300
FOOTER_CHARS = 200
FALLBACK_CHARS = 1000
MAX_ACTION_BLOCKS = 4


@dataclass(frozen=True, slots=True)
class _Detail:
    """How much enrichment and how many playbook buttons a card shows."""

    sections: int
    section_chars: int
    line_chars: int
    fields: int
    playbooks: int


_DETAILS = (
    _Detail(sections=12, section_chars=2000, line_chars=LINE_CHARS, fields=MAX_FIELDS, playbooks=10),
    _Detail(sections=6, section_chars=800, line_chars=200, fields=6, playbooks=5),
    _Detail(sections=3, section_chars=300, line_chars=120, fields=4, playbooks=2),
    _Detail(sections=0, section_chars=0, line_chars=0, fields=0, playbooks=0),
)

SILENCE_MENU_ACTION_ID = "nocbot.silence"
"""The silence menu's action_id; the chosen option's `value` is the ActionValue, as for buttons."""

_BUTTON_STYLES = {ActionStyle.PRIMARY: "primary", ActionStyle.DANGER: "danger"}


def escape(text: str) -> str:
    """Slack's three mrkdwn escapes; nothing else is special once the text is sent verbatim."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def incident_message(view: IncidentView) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage / chat.update: notification text plus blocks."""
    return {"text": incident_fallback_text(view), "blocks": incident_blocks(view)}


def incident_fallback_text(view: IncidentView) -> str:
    """The one line a notification shows: badge, title, status, size, services."""
    services = ", ".join(view.services[:3]) + (
        f" +{len(view.services) - 3}" if len(view.services) > 3 else ""
    )
    parts = [f"{view.badge} · {view.title or 'untitled incident'}", view.status.text]
    parts.append(f"{view.alert_count_text} alerts" + (f" · {services}" if services else ""))
    return clip(" — ".join(parts), FALLBACK_CHARS, escape)


def incident_blocks(view: IncidentView) -> list[Block]:
    blocks = _blocks(view, _DETAILS[0])
    for detail in _DETAILS[1:]:
        if message_chars(blocks) <= MAX_MESSAGE_CHARS:
            break
        blocks = _blocks(view, detail)
    return blocks


def message_chars(blocks: list[Block]) -> int:
    return len(json.dumps(blocks, ensure_ascii=False, separators=(",", ":")))


def _blocks(view: IncidentView, detail: _Detail) -> list[Block]:
    top = [_header(view), _assessment(view), _facts(view), *_visuals(view)]
    actions = _action_blocks(view, detail.playbooks)
    footer = [_footer(view)]
    room = MAX_BLOCKS - len(top) - len(actions) - len(footer)
    return [*top, *actions, *_section_blocks(view.sections, detail, room), *footer]


def timeline_message(text: str, actions: Sequence[ActionView] = ()) -> list[Block]:
    """A thread reply for one timeline entry ("alice acknowledged", "3 more alerts joined"), with
    the buttons it offers (approve or deny a playbook run)."""
    lines = text.splitlines() or [""]
    body = fit_items(lines, lambda line, room: clip(line, room, escape), MAX_TEXT)
    blocks = [_section(body)]
    if actions:
        blocks.append(
            {"type": "actions", "elements": [_button(action) for action in actions[:MAX_ACTION_ELEMENTS]]}
        )
    return blocks


def ephemeral_error(message: str, hint: str | None = None) -> list[Block]:
    """What only the clicking user sees when an action failed, and what they can do about it."""
    blocks = [_section(":warning: " + clip(message or "Something went wrong.", MAX_TEXT - 10, escape))]
    if hint:
        blocks.append(_context([clip(hint, MAX_TEXT, escape)]))
    return blocks


def _header(view: IncidentView) -> Block:
    return {
        "type": "header",
        "text": _plain(f"{view.badge} · {view.title or 'untitled incident'}", MAX_HEADER),
    }


def _assessment(view: IncidentView) -> Block:
    return _context([clip(view.assessment_text, SUMMARY_CHARS, escape)])


def _facts(view: IncidentView) -> Block:
    services = fit_items(
        view.services, lambda name, room: clip(name, room, escape), FIELD_CHARS, separator=", "
    )
    facts = [
        ("Status", clip(view.status.text, FIELD_CHARS, escape)),
        ("Services", services or "—"),
        ("Alerts", clip(view.alert_count_text, FIELD_CHARS, escape)),
        ("Started", clip(view.started_text, FIELD_CHARS, escape)),
        ("Duration", clip(view.duration_text, FIELD_CHARS, escape)),
    ]
    return {"type": "section", "fields": [_mrkdwn(f"*{name}*\n{value}") for name, value in facts]}


def _visuals(view: IncidentView) -> list[Block]:
    blocks: list[Block] = []
    url = link_target(view.chart.url) if view.chart else None
    if view.chart and url:
        alt = view.chart.alt_text or "incident chart"
        blocks.append({"type": "image", "image_url": url, "alt_text": clip(alt, ALT_TEXT_CHARS)})
    if view.sparkline:
        blocks.append(_context([f"`{clip(view.sparkline, LINE_CHARS, escape)}`"]))
    return blocks


def _footer(view: IncidentView) -> Block:
    parts = [clip(view.footer, FOOTER_CHARS, escape)]
    url = link_target(view.console_url)
    if url:
        parts.append(f"<{escape(url)}|Open in console>")
    return _context(parts)


def _action_blocks(view: IncidentView, playbook_limit: int) -> list[Block]:
    """Triage first (acknowledge, resolve, silence, escalate), then playbooks, then split/merge."""
    main: list[Block] = [
        _button(action) for action in view.actions_of(ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE)
    ]
    silences = view.actions_of(ActionKind.SILENCE)
    if silences:
        main.append(_silence_menu(silences))
    main += [_button(action) for action in view.actions_of(ActionKind.ESCALATE)]
    playbooks = view.actions_of(ActionKind.RUN_PLAYBOOK)
    groups = [
        main,
        [_button(action) for action in playbooks[:playbook_limit]],
        [_button(action) for action in view.actions_of(ActionKind.SPLIT, ActionKind.MERGE)],
    ]
    chunks = [
        group[start : start + MAX_ACTION_ELEMENTS]
        for group in groups
        for start in range(0, len(group), MAX_ACTION_ELEMENTS)
    ]
    blocks: list[Block] = [{"type": "actions", "elements": chunk} for chunk in chunks[:MAX_ACTION_BLOCKS]]
    left_out = sum(len(chunk) for chunk in chunks[MAX_ACTION_BLOCKS:]) + max(
        0, len(playbooks) - playbook_limit
    )
    if left_out:
        blocks.append(_context([escape(more_text(left_out) + " actions in the console")]))
    return blocks


def _button(action: ActionView) -> Block:
    button: Block = {
        "type": "button",
        "text": _plain(action.label, MAX_BUTTON_TEXT),
        "action_id": action.id,
        "value": action.value.encode(),
    }
    if action.style in _BUTTON_STYLES:
        button["style"] = _BUTTON_STYLES[action.style]
    if action.confirm:
        button["confirm"] = {
            "title": _plain("Are you sure?", MAX_CONFIRM_TITLE),
            "text": _plain(action.confirm, MAX_CONFIRM_TEXT),
            "confirm": _plain("Yes", MAX_CONFIRM_BUTTON),
            "deny": _plain("Cancel", MAX_CONFIRM_BUTTON),
        }
    return button


def _silence_menu(silences: Sequence[ActionView]) -> Block:
    options = [{"text": _plain(a.label, MAX_OPTION_TEXT), "value": a.value.encode()} for a in silences]
    return {
        "type": "static_select",
        "action_id": SILENCE_MENU_ACTION_ID,
        "placeholder": _plain("Silence", MAX_PLACEHOLDER),
        "options": options,
    }


def _section_blocks(sections: Sequence[ViewSection], detail: _Detail, room: int) -> list[Block]:
    """A divider, then one block per section; "… and N more sections" when they do not all fit."""
    if not sections or room < 2:
        return []
    limit = min(detail.sections, room - 1 if len(sections) + 1 <= room else room - 2)
    shown = sections[:limit]
    blocks = [{"type": "divider"}, *(_enrichment(section, detail) for section in shown)]
    if len(shown) < len(sections):
        blocks.append(_context([escape(more_text(len(sections) - len(shown)) + " sections in the console")]))
    return blocks


def _enrichment(section: ViewSection, detail: _Detail) -> Block:
    heading = f"*{clip(section.heading, MAX_HEADER, escape)}*" if section.heading else ""
    bullet = "• " if len(section.lines) > 1 else ""
    text = fit_items(
        section.lines,
        lambda item, room: bullet + _linked(item.text, item.url, room - len(bullet)),
        detail.section_chars,
        head=heading,
        item_limit=detail.line_chars,
    )
    block: Block = {"type": "section", "text": _mrkdwn(text or "—")}
    if section.fields:
        block["fields"] = _fields(section.fields, detail)
    return block


def _fields(items: Sequence[SectionItem], detail: _Detail) -> list[Block]:
    most = max(1, min(detail.fields, MAX_FIELDS))
    shown = items if len(items) <= most else items[: most - 1]
    fields = [_mrkdwn(_field_text(item, detail.line_chars)) for item in shown]
    if len(shown) < len(items):
        fields.append(_mrkdwn(escape(more_text(len(items) - len(shown)))))
    return fields


def _field_text(item: SectionItem, limit: int) -> str:
    label = f"*{clip(item.label, 100, escape)}*\n" if item.label else ""
    return label + _linked(item.text or "—", item.url, max(limit - len(label), 40))


def _linked(text: str, url: str | None, room: int) -> str:
    """`<url|text>` when the link fits whole in `room`; the bare (cut) text otherwise."""
    target = link_target(url)
    if target:
        linked = f"<{escape(target)}|{clip(text or target, LINE_CHARS, escape)}>"
        if len(linked) <= room:
            return linked
    return clip(text, room, escape)


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(texts: Sequence[str]) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text) for text in texts[:MAX_CONTEXT_ELEMENTS]]}


def _mrkdwn(text: str) -> Block:
    # Slack refuses empty text objects.
    return {"type": "mrkdwn", "text": text if text.strip() else "—", "verbatim": True}


def _plain(text: str, limit: int) -> Block:
    cut = clip(text, limit)
    return {"type": "plain_text", "text": cut if cut.strip() else "—", "emoji": True}
