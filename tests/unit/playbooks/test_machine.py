"""The run state machine: allowed moves, and what a run does next (also after a crash)."""

from __future__ import annotations

import pytest

from engine.playbooks.machine import (
    Finished,
    Interrupted,
    InvalidTransition,
    RunEvent,
    RunStatus,
    RunStep,
    StepStatus,
    next_action,
    next_status,
    sources,
)
from engine.playbooks.spec import Step, StepKind, WaitAction

P, R, S, F = StepStatus.PENDING, StepStatus.RUNNING, StepStatus.SUCCEEDED, StepStatus.FAILED


def step(name: str, *, idempotent: bool) -> Step:
    return Step(name, StepKind.WAIT, WaitAction(1), line=1, timeout_seconds=1, idempotent=idempotent)


def test_the_happy_path() -> None:
    status = RunStatus.PENDING_APPROVAL
    for event in (RunEvent.APPROVE, RunEvent.START, RunEvent.SUCCEED):
        status = next_status(status, event)
    assert status is RunStatus.SUCCEEDED and not status.active


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (RunStatus.PENDING_APPROVAL, RunEvent.START),  # never runs unapproved
        (RunStatus.APPROVED, RunEvent.APPROVE),  # a second approval is not a second run
        (RunStatus.SUCCEEDED, RunEvent.CANCEL),
        (RunStatus.DENIED, RunEvent.APPROVE),
        (RunStatus.CANCELLED, RunEvent.START),
    ],
)
def test_moves_that_are_refused(status: RunStatus, event: RunEvent) -> None:
    with pytest.raises(InvalidTransition):
        next_status(status, event)


def test_sources_are_the_where_of_conditional_updates() -> None:
    assert sources(RunEvent.APPROVE) == {RunStatus.PENDING_APPROVAL}
    assert sources(RunEvent.CANCEL) == {RunStatus.PENDING_APPROVAL, RunStatus.APPROVED, RunStatus.RUNNING}
    assert sources(RunEvent.SUCCEED) == {RunStatus.RUNNING}


def test_next_action_walks_the_steps() -> None:
    steps = [step("a", idempotent=False), step("b", idempotent=False)]
    assert next_action(steps, []) == RunStep(0)
    assert next_action(steps, [S, P]) == RunStep(1)
    assert next_action(steps, [S, S]) == Finished(succeeded=True)
    assert next_action(steps, [S, F]) == Finished(succeeded=False)


def test_an_interrupted_step_repeats_only_when_idempotent() -> None:
    steps = [step("safe", idempotent=True), step("post", idempotent=False)]
    assert next_action(steps, [R, P]) == RunStep(0, resumed=True)
    assert next_action(steps, [S, R]) == Interrupted(1)
