"""Wording of what the Slack surface says back: refusals, answers, usage (cards are rendered
elsewhere, by integrations.slack_blocks)."""

from __future__ import annotations

from bot.actions import ActionOutcome, ChatReply, Outcome
from bot.slack.commands import USAGE

_REFUSALS = {
    Outcome.NOT_ALLOWED: "You are not allowed to do that.",
    Outcome.ALREADY_HANDLED: "Someone already handled this.",
    Outcome.STALE: "This card was out of date; it is being refreshed. Check it and try again.",
    Outcome.NOT_FOUND: "That incident no longer exists.",
    Outcome.INVALID: "That cannot be done to this incident.",
}
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
    if reply.suggestions:
        lines.append("Try: " + " · ".join(f"`{escape(q)}`" for q in reply.suggestions))
    return "\n".join(lines)


def usage_text(command: str, problem: str | None = None) -> str:
    usage = USAGE.format(command=command)
    return f"{escape(problem)}\n\n{usage}" if problem else usage
