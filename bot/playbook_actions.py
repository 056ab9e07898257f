"""Chat's view of playbook runs: an `Actor` becomes the engine's `Person`, a run's verdict an
`ActionOutcome` the surface words for the person who clicked."""

from __future__ import annotations

from collections.abc import Mapping

from bot.actions import ActionOutcome, Actor, Outcome
from engine.playbook_runs import PlaybookRuns, RunDecision, Verdict
from engine.playbooks import Person

_OUTCOMES: Mapping[Verdict, Outcome] = {
    Verdict.STARTED: Outcome.DONE,
    Verdict.PENDING_APPROVAL: Outcome.DONE,
    Verdict.DENIED: Outcome.DONE,
    Verdict.CANCELLED: Outcome.DONE,
    Verdict.NOT_ALLOWED: Outcome.NOT_ALLOWED,
    Verdict.ALREADY_ACTIVE: Outcome.ALREADY_HANDLED,
    Verdict.ALREADY_DECIDED: Outcome.ALREADY_HANDLED,
    Verdict.NOT_FOUND: Outcome.NOT_FOUND,
    Verdict.INVALID: Outcome.INVALID,
}


def person_of(actor: Actor) -> Person:
    """Groups are prefixed with the surface, as playbooks name them ("slack:S0614TZR7")."""
    prefix = actor.surface.value
    return Person(actor.key, actor.display_name, frozenset(f"{prefix}:{group}" for group in actor.groups))


class ChatPlaybooks:
    def __init__(self, runs: PlaybookRuns) -> None:
        self.runs = runs

    async def request(self, incident_id: int, name: str, actor: Actor) -> ActionOutcome:
        return _outcome(await self.runs.request(incident_id, name, person_of(actor)))

    async def approve(self, run_id: int, actor: Actor) -> ActionOutcome:
        return _outcome(await self.runs.approve(run_id, person_of(actor)))

    async def deny(self, run_id: int, actor: Actor) -> ActionOutcome:
        return _outcome(await self.runs.deny(run_id, person_of(actor)))

    async def cancel(self, run_id: int, actor: Actor) -> ActionOutcome:
        return _outcome(await self.runs.cancel(run_id, person_of(actor)))


def _outcome(decision: RunDecision) -> ActionOutcome:
    return ActionOutcome(_OUTCOMES[decision.verdict], decision.message)
