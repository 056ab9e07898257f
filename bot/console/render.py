"""An incident card as an HTML fragment for the web console.

Every value is escaped, attributes included, and URLs are kept only when they are http(s), so a
hostile alert title or label is shown, never run. Buttons carry their action in `data-action` and
`data-value` for the console's own script to send: no inline JavaScript, no inline styles (the
console's Content-Security-Policy can forbid both).
"""

from __future__ import annotations

from html import escape

from engine.view import (
    ActionKind,
    ActionView,
    IncidentView,
    SectionItem,
    ViewSection,
    clip,
    link_target,
    more_text,
)

# The console shows far more than a chat card, but an incident with thousands of alerts and huge
# labels is still cut to a page a browser opens quickly.
MAX_LINES = 50
MAX_SECTIONS = 30
MAX_SERVICES = 50
TEXT_CHARS = 500


def incident_html(view: IncidentView) -> str:
    status = view.status.status.value
    priority = view.priority.name if view.priority is not None else "unscored"
    parts = [
        f'<article class="nocbot-incident status-{status} priority-{priority.lower()}"'
        f' data-incident="{view.incident_id}" data-version="{view.version}">',
        "<header>",
        f'<span class="badge">{_e(view.badge)}</span>',
        f"<h2>{_e(view.title or 'untitled incident')}</h2>",
        f'<p class="assessment">{_e(view.assessment_text)}</p>',
        "</header>",
        _facts(view),
        _visuals(view),
        _actions(view),
        *(_section(section) for section in view.sections[:MAX_SECTIONS]),
        _more(len(view.sections) - MAX_SECTIONS, "p", " sections"),
        f"<footer>{_e(view.footer)}</footer>",
        "</article>",
    ]
    return "\n".join(part for part in parts if part)


def _facts(view: IncidentView) -> str:
    services = ", ".join(view.services[:MAX_SERVICES])
    if len(view.services) > MAX_SERVICES:
        services += f" {more_text(len(view.services) - MAX_SERVICES)}"
    facts = [
        ("Status", view.status.text),
        ("Services", services or "—"),
        ("Alerts", view.alert_count_text),
        ("Started", view.started_text),
        ("Duration", view.duration_text),
    ]
    rows = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in facts)
    return f'<dl class="facts">{rows}</dl>'


def _visuals(view: IncidentView) -> str:
    parts = []
    url = link_target(view.chart.url) if view.chart else None
    if view.chart and url:
        alt = view.chart.alt_text or "incident chart"
        parts.append(f'<figure class="chart"><img src="{_attr(url)}" alt="{_e(alt)}"></figure>')
    if view.sparkline:
        parts.append(f'<p class="sparkline">{_e(view.sparkline)}</p>')
    return "\n".join(parts)


def _actions(view: IncidentView) -> str:
    if not view.actions:
        return ""
    groups = [
        ("triage", view.actions_of(ActionKind.ACKNOWLEDGE, ActionKind.RESOLVE, ActionKind.ESCALATE)),
        ("silence", view.actions_of(ActionKind.SILENCE)),
        ("playbooks", view.actions_of(ActionKind.RUN_PLAYBOOK)),
        ("clustering", view.actions_of(ActionKind.SPLIT, ActionKind.MERGE)),
    ]
    rows = [
        f'<div class="action-group {name}">{"".join(_button(action) for action in actions)}</div>'
        for name, actions in groups
        if actions
    ]
    return '<nav class="actions">' + "".join(rows) + "</nav>"


def _button(action: ActionView) -> str:
    attributes = [
        ("type", "button"),
        ("class", f"action {action.style.value}"),
        ("data-action", action.id),
        ("data-value", action.value.encode()),
    ]
    if action.confirm:
        attributes.append(("data-confirm", action.confirm))
    rendered = " ".join(f'{name}="{_attr(value)}"' for name, value in attributes)
    return f"<button {rendered}>{_e(action.label)}</button>"


def _section(section: ViewSection) -> str:
    parts = ['<section class="enrichment">', f"<h3>{_e(section.heading)}</h3>" if section.heading else ""]
    if section.lines:
        items = "".join(f"<li>{_linked(item)}</li>" for item in section.lines[:MAX_LINES])
        parts.append(f"<ul>{items}{_more(len(section.lines) - MAX_LINES, 'li')}</ul>")
    if section.fields:
        rows = "".join(
            f"<dt>{_e(item.label or '—')}</dt><dd>{_linked(item)}</dd>" for item in section.fields[:MAX_LINES]
        )
        parts.append(f"<dl>{rows}</dl>{_more(len(section.fields) - MAX_LINES, 'p')}")
    parts.append("</section>")
    return "".join(parts)


def _linked(item: SectionItem) -> str:
    url = link_target(item.url)
    if url is None:
        return _e(item.text)
    return f'<a href="{_attr(url)}" rel="noopener noreferrer">{_e(item.text or url)}</a>'


def _more(count: int, tag: str, what: str = "") -> str:
    return f'<{tag} class="more">{_e(more_text(count) + what)}</{tag}>' if count > 0 else ""


def _e(text: str) -> str:
    """Text for people: cut, then escaped (so that no entity is cut in half)."""
    return escape(clip(text, TEXT_CHARS), quote=True)


def _attr(value: str) -> str:
    """A machine value (action, URL): escaped, never cut."""
    return escape(value, quote=True)
