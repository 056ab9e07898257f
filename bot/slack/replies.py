"""Wording of what the Slack surface says back: refusals, answers, usage (cards are rendered
elsewhere, by integrations.slack_blocks)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.actions import ActionOutcome, ChatReply, Outcome
from bot.slack.commands import USAGE

_REFUSALS = {
    Outcome.NOT_ALLOWED: "You are not allowed to do that.",
    Outcome.ALREADY_HANDLED: "Someone already handled this.",
    Outcome.STALE: "This card was out of date; it is being refreshed. Check it and try again.",
    Outcome.NOT_FOUND: "That incident no longer exists.",
    Outcome.INVALID: "That cannot be done to this incident.",
}
MAX_TABLE_ROWS = 25
MAX_CELL = 40
MAX_SQL_CHARS = 1500
MAX_MESSAGE_CHARS = 3900  # Slack truncates a message's text at 4,000 characters
FAILED = "Sorry, nocbot could not do that just now (an internal error); please try again."
UNKNOWN_BUTTON = "This button is not one nocbot understands; the card may be from an older version."


def escape(text: str) -> str:
    """Slack's three mrkdwn escapes: text from alerts and people can neither link nor ping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def refusal(outcome: ActionOutcome | None) -> str | None:
    """What to tell the responder privately: why it was refused, or that it failed (None: the
    action was done, and the card update says so)."""
    if outcome is None:
        return FAILED
    if not outcome.refused:
        return None
    lead = _REFUSALS.get(outcome.outcome, "That was not done.")
    return f"{lead} {escape(outcome.message)}" if outcome.message else lead


def done_text(outcome: ActionOutcome | None, default: str) -> str:
    return escape(outcome.message) if outcome is not None and outcome.message else default


def reply_text(reply: ChatReply) -> str:
    lines = [escape(reply.text)]
    lines += [f"_{escape(detail)}_" for detail in reply.details]
    if reply.columns and reply.rows:
        lines.append("```\n" + escape(table_text(reply.columns, reply.rows)) + "\n```")
    if reply.suggestions:
        lines.append("Try: " + " · ".join(f"`{escape(q)}`" for q in reply.suggestions))
    if reply.sql:
        # Slack has no collapsible text: the SQL goes last, quoted, for whoever wants to check it
        lines.append(">SQL: `" + escape(_one_line(reply.sql))[:MAX_SQL_CHARS] + "`")
    return clip_message("\n".join(lines))


def table_text(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width table for a code block; long tables keep their first rows and say so."""
    shown = [list(columns), *[list(row) for row in rows[:MAX_TABLE_ROWS]]]
    widths = [
        min(MAX_CELL, max(len(row[i]) if i < len(row) else 0 for row in shown)) for i in range(len(columns))
    ]
    lines = [
        "  ".join(cell[:MAX_CELL].ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in shown
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    if len(rows) > MAX_TABLE_ROWS:
        lines.append(f"… and {len(rows) - MAX_TABLE_ROWS} more rows")
    return "\n".join(lines)


def clip_message(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _one_line(sql: str) -> str:
    return " ".join(sql.split())


def usage_text(command: str, problem: str | None = None) -> str:
    usage = USAGE.format(command=command)
    return f"{escape(problem)}\n\n{usage}" if problem else usage
