"""Chat's Escalate button over the PagerDuty escalation service."""

from __future__ import annotations

from collections.abc import Mapping

from bot.actions import ActionOutcome, Actor, Outcome
from engine.escalation import EscalationResult, EscalationService

_OUTCOMES: Mapping[EscalationResult, Outcome] = {
    EscalationResult.ESCALATED: Outcome.DONE,
    EscalationResult.ALREADY_ESCALATED: Outcome.ALREADY_HANDLED,
    EscalationResult.NOT_FOUND: Outcome.NOT_FOUND,
    EscalationResult.NOT_OPEN: Outcome.ALREADY_HANDLED,
    EscalationResult.NO_ROUTE: Outcome.INVALID,
}


class ChatEscalation:
    def __init__(self, service: EscalationService) -> None:
        self.service = service

    async def escalate(self, incident_id: int, actor: Actor) -> ActionOutcome:
        outcome = await self.service.escalate(
            incident_id, actor=actor.key, surface=actor.surface.value, name=actor.display_name
        )
        return ActionOutcome(_OUTCOMES[outcome.result], outcome.message)

    async def for_playbook(self, incident_id: int, reason: str) -> str:
        """A playbook's escalate step: same dedup, so a repeated step never pages twice."""
        outcome = await self.service.escalate(
            incident_id, actor="nocbot:playbook", surface="playbook", name=f"a playbook ({reason})"
        )
        return outcome.message
