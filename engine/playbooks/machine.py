"""The life of a run, as pure rules: which event moves which status where, and what comes next.

pending_approval → approved → running (step by step) → succeeded | failed | timed_out | cancelled;
a request can also be denied, or time out waiting for approval. The service stores the status and
moves it with conditional updates built from `sources`, so two replicas deciding at once cannot
both win. `next_action` is how a run continues — after a step, or after a crash left one half done.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from engine.playbooks.spec import Step


class RunStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    DENIED = "denied"

    @property
    def active(self) -> bool:
        return self in ACTIVE


ACTIVE = frozenset({RunStatus.PENDING_APPROVAL, RunStatus.APPROVED, RunStatus.RUNNING})


class RunEvent(enum.StrEnum):
    APPROVE = "approve"
    DENY = "deny"
    CANCEL = "cancel"
    START = "start"
    """A worker takes the run (first start, or taking over one whose worker died)."""
    SUCCEED = "succeed"
    FAIL = "fail"
    TIME_OUT = "time_out"


TRANSITIONS: dict[tuple[RunStatus, RunEvent], RunStatus] = {
    (RunStatus.PENDING_APPROVAL, RunEvent.APPROVE): RunStatus.APPROVED,
    (RunStatus.PENDING_APPROVAL, RunEvent.DENY): RunStatus.DENIED,
    (RunStatus.PENDING_APPROVAL, RunEvent.CANCEL): RunStatus.CANCELLED,
    (RunStatus.PENDING_APPROVAL, RunEvent.TIME_OUT): RunStatus.TIMED_OUT,
    (RunStatus.APPROVED, RunEvent.START): RunStatus.RUNNING,
    (RunStatus.APPROVED, RunEvent.CANCEL): RunStatus.CANCELLED,
    (RunStatus.APPROVED, RunEvent.FAIL): RunStatus.FAILED,
    (RunStatus.APPROVED, RunEvent.TIME_OUT): RunStatus.TIMED_OUT,
    (RunStatus.RUNNING, RunEvent.START): RunStatus.RUNNING,
    (RunStatus.RUNNING, RunEvent.SUCCEED): RunStatus.SUCCEEDED,
    (RunStatus.RUNNING, RunEvent.FAIL): RunStatus.FAILED,
    (RunStatus.RUNNING, RunEvent.TIME_OUT): RunStatus.TIMED_OUT,
    (RunStatus.RUNNING, RunEvent.CANCEL): RunStatus.CANCELLED,
}


class InvalidTransition(ValueError):
    pass


def next_status(status: RunStatus, event: RunEvent) -> RunStatus:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(f"a {status.value} run cannot {event.value}") from None


def sources(event: RunEvent) -> frozenset[RunStatus]:
    """Statuses `event` applies to: the WHERE of the conditional update that applies it."""
    return frozenset(status for status, on in TRANSITIONS if on is event)


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunStep:
    position: int
    resumed: bool = False
    """True when a crash interrupted this (idempotent) step and it runs again."""


@dataclass(frozen=True, slots=True)
class Interrupted:
    """A crash interrupted a step that is not safe to repeat: it is failed, never re-run."""

    position: int


@dataclass(frozen=True, slots=True)
class Finished:
    succeeded: bool


NextAction = RunStep | Interrupted | Finished


def next_action(steps: Sequence[Step], statuses: Sequence[StepStatus]) -> NextAction:
    """What a running run does next, from its steps and their stored statuses (in order)."""
    for position, step in enumerate(steps):
        status = statuses[position] if position < len(statuses) else StepStatus.PENDING
        if status is StepStatus.SUCCEEDED:
            continue
        if status is StepStatus.FAILED:
            return Finished(succeeded=False)
        if status is StepStatus.RUNNING:
            return RunStep(position, resumed=True) if step.idempotent else Interrupted(position)
        return RunStep(position)
    return Finished(succeeded=True)
