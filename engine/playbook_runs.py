"""Playbook runs: request, approval, execution step by step, and what happens after a crash.

Every decision is one transaction that changes the run's status with a conditional update, writes
the audit trail and notes the timeline (which queues the chat thread replies through the outbox),
so a decision and its announcement land together. A step is marked running *before* its I/O and
finished after; a replica that dies in between leaves the step running, and whoever takes the run
over (its lease ran out) repeats the step only if the playbook says it is idempotent, and otherwise
marks it failed for a person to look at: a non-idempotent action is never silently done twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.clock import Clock
from engine.models import IncidentStatus
from engine.playbooks.loader import PlaybookLibrary
from engine.playbooks.machine import (
    Finished,
    Interrupted,
    RunEvent,
    RunStatus,
    RunStep,
    StepStatus,
    next_action,
)
from engine.playbooks.matching import ParameterError, facts_of, matches, parameter_values
from engine.playbooks.people import Person, may_approve
from engine.playbooks.spec import (
    Approval,
    CheckAction,
    CommandAction,
    EscalateAction,
    HttpAction,
    MetricCondition,
    NotifyAction,
    Playbook,
    ResolveAction,
    Step,
    StepKind,
    WaitAction,
)
from engine.playbooks.steps import (
    StepExecutors,
    StepResult,
    render_argv,
    render_http,
    render_metric,
    render_probe,
)
from engine.playbooks.templating import RenderError
from engine.responders import Outcome, Result
from engine.storage import audit_rows, incident_rows, playbook_rows
from engine.storage.playbook_rows import RunRow, StepRow
from engine.storage.store import Store
from engine.timeline import Timeline

log = logging.getLogger("nocbot.playbooks")

Escalate = Callable[[int, str], Awaitable[str]]
"""(incident id, reason) → what happened, for the thread ("paged team-checkout")."""


class Resolve(Protocol):
    """Close an incident for a run and record it as auto-resolved (`Responders.auto_resolve`)."""

    def __call__(self, incident_id: int, *, playbook: str, run_id: int) -> Awaitable[Outcome]: ...


class Verdict(enum.StrEnum):
    STARTED = "started"
    PENDING_APPROVAL = "pending_approval"
    NOT_ALLOWED = "not_allowed"
    ALREADY_ACTIVE = "already_active"
    """A request for a playbook the incident already has an unfinished run of."""
    ALREADY_DECIDED = "already_decided"
    """A click on a run someone already approved, denied or cancelled (or that finished)."""
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    DENIED = "denied"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class RunDecision:
    verdict: Verdict
    message: str
    """For the person who clicked (shown to them only; the thread gets the timeline note)."""
    run_id: int | None = None


class _LostRun(Exception):
    """The run stopped being this worker's (cancelled, timed out, or taken over)."""


SURFACE = "playbook"  # the audit surface of what runs do on their own


class PlaybookRuns:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        library: PlaybookLibrary,
        executors: StepExecutors,
        timeline: Timeline,
        *,
        escalate: Escalate | None = None,
        resolve: Resolve | None = None,
        secrets: Mapping[str, str] | None = None,
        lease: timedelta = timedelta(seconds=30),
        poll_seconds: float = 5.0,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.library = library
        self.executors = executors
        self.timeline = timeline
        self.escalate = escalate
        self.resolve = resolve
        self.secrets = dict(secrets or {})
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.worker_id = worker_id or uuid.uuid4().hex[:16]
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._stopping = False

    # -- decisions ---------------------------------------------------------------------------------

    async def request(self, incident_id: int, name: str, person: Person) -> RunDecision:
        playbook = self.library.get(name)
        if playbook is None:
            return RunDecision(Verdict.NOT_FOUND, f"there is no playbook {name!r}")
        now = self.clock.now()
        async with self.store.transaction() as conn:
            found = await playbook_rows.incident_status(conn, incident_id)
            if found is None:
                return RunDecision(Verdict.NOT_FOUND, f"there is no incident #{incident_id}")
            status, services = found
            if status == IncidentStatus.RESOLVED.value:
                return RunDecision(Verdict.INVALID, f"#{incident_id} is already resolved")
            alerts = (await incident_rows.alerts_of_incidents(conn, [incident_id])).get(incident_id, [])
            facts = facts_of(alerts, services)
            if not matches(playbook.match, facts):
                return RunDecision(Verdict.INVALID, f"playbook {name} does not apply to #{incident_id}")
            try:
                params = parameter_values(playbook.parameters, facts)
            except ParameterError as exc:
                return RunDecision(Verdict.INVALID, f"cannot run {name}: {exc}")
            approved_by = None
            if playbook.approval is Approval.AUTO:
                approved_by = "auto"
            elif playbook.allow_self_approval and may_approve(playbook.approvers, person):
                approved_by = person.key  # an approver asking is their approval: one click
            run_id = await playbook_rows.insert_run(
                conn,
                incident_id=incident_id,
                playbook=name,
                params=params,
                revision=playbook.revision,
                requested_by=person.key,
                now=now,
                approved_by=approved_by,
            )
            if run_id is None:
                return await self._already_active(conn, incident_id, playbook)
            await playbook_rows.create_steps(conn, run_id, [(s.name, s.kind.value) for s in playbook.steps])
            await audit_rows.audit(
                conn,
                at=now,
                actor=person.key,
                surface=person.surface,
                action="playbook_request",
                incident_id=incident_id,
                detail={"run_id": run_id, "playbook": name, "params": params},
            )
            detail = {
                "run_id": run_id,
                "playbook": name,
                "status": (RunStatus.APPROVED if approved_by else RunStatus.PENDING_APPROVAL).value,
                "approvers": sorted(playbook.approvers.users | playbook.approvers.groups),
            }
            if approved_by is None:
                text = (
                    f"{person.name} requested playbook {playbook.title} — waiting for approval by "
                    f"{playbook.approvers.describe()}"
                )
                await self.timeline.note(
                    conn,
                    incident_id,
                    kind="playbook_requested",
                    text=text,
                    now=now,
                    actor=person.key,
                    detail=detail,
                )
                return RunDecision(
                    Verdict.PENDING_APPROVAL, f"requested {playbook.title}; waiting for approval", run_id
                )
            if approved_by == person.key:
                await playbook_rows.record_decision(
                    conn, run_id, actor=person.key, surface=person.surface, decision="approved", now=now
                )
            how = "(no approval needed)" if approved_by == "auto" else "(approved by themselves)"
            text = f"{person.name} started playbook {playbook.title} {how}"
            await self.timeline.note(
                conn,
                incident_id,
                kind="playbook_approved",
                text=text,
                now=now,
                actor=person.key,
                detail=detail,
            )
        self._launch(run_id)
        return RunDecision(Verdict.STARTED, f"started {playbook.title}", run_id)

    async def approve(self, run_id: int, person: Person) -> RunDecision:
        now = self.clock.now()
        async with self.store.transaction() as conn:
            run = await playbook_rows.get_run(conn, run_id)
            if run is None:
                return RunDecision(Verdict.NOT_FOUND, f"there is no playbook run #{run_id}")
            playbook = self.library.get(run.playbook)
            if playbook is None:
                return RunDecision(Verdict.INVALID, f"playbook {run.playbook} is no longer loaded", run_id)
            refusal = self._approval_refusal(playbook, run, person)
            if refusal is not None:
                await self._refuse(conn, run, person, "approve", refusal, now)
                return RunDecision(Verdict.NOT_ALLOWED, refusal, run_id)
            if run.status is not RunStatus.PENDING_APPROVAL:
                return RunDecision(Verdict.ALREADY_DECIDED, _already(run), run_id)
            found = await playbook_rows.incident_status(conn, run.incident_id)
            if found is None or found[0] == IncidentStatus.RESOLVED.value:
                error = "the incident was resolved before approval"
                if await playbook_rows.finish(conn, run_id, RunEvent.CANCEL, now=now, error=error):
                    await self._note_run(
                        conn, run, f"playbook {run.playbook} withdrawn: {error}", RunStatus.CANCELLED
                    )
                return RunDecision(Verdict.INVALID, f"#{run.incident_id} is already resolved", run_id)
            if not await playbook_rows.approve(conn, run_id, actor=person.key, now=now):
                return RunDecision(Verdict.ALREADY_DECIDED, "someone else decided first", run_id)
            await playbook_rows.record_decision(
                conn, run_id, actor=person.key, surface=person.surface, decision="approved", now=now
            )
            await audit_rows.audit(
                conn,
                at=now,
                actor=person.key,
                surface=person.surface,
                action="playbook_approve",
                incident_id=run.incident_id,
                detail={"run_id": run_id, "playbook": run.playbook},
            )
            await self.timeline.note(
                conn,
                run.incident_id,
                kind="playbook_approved",
                text=f"{person.name} approved playbook {playbook.title}",
                now=now,
                actor=person.key,
                detail={"run_id": run_id, "playbook": run.playbook, "status": RunStatus.APPROVED.value},
            )
        self._launch(run_id)
        return RunDecision(Verdict.STARTED, f"approved; {playbook.title} is starting", run_id)

    async def deny(self, run_id: int, person: Person) -> RunDecision:
        now = self.clock.now()
        async with self.store.transaction() as conn:
            run = await playbook_rows.get_run(conn, run_id)
            if run is None:
                return RunDecision(Verdict.NOT_FOUND, f"there is no playbook run #{run_id}")
            playbook = self.library.get(run.playbook)
            if playbook is not None and not may_approve(playbook.approvers, person):
                refusal = f"only {playbook.approvers.describe()} may deny {playbook.title}"
                await self._refuse(conn, run, person, "deny", refusal, now)
                return RunDecision(Verdict.NOT_ALLOWED, refusal, run_id)
            if not await playbook_rows.finish(
                conn, run_id, RunEvent.DENY, now=now, error=f"denied by {person.key}"
            ):
                return RunDecision(Verdict.ALREADY_DECIDED, _already(run), run_id)
            await playbook_rows.record_decision(
                conn, run_id, actor=person.key, surface=person.surface, decision="denied", now=now
            )
            await self._decided(
                conn, run, person, "deny", f"{person.name} denied playbook {run.playbook}", now
            )
        return RunDecision(Verdict.DENIED, f"denied {run.playbook}", run_id)

    async def cancel(self, run_id: int, person: Person) -> RunDecision:
        """The requester or an approver stops a run: pending, approved or between/within steps."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            run = await playbook_rows.get_run(conn, run_id)
            if run is None:
                return RunDecision(Verdict.NOT_FOUND, f"there is no playbook run #{run_id}")
            playbook = self.library.get(run.playbook)
            allowed = person.key == run.requested_by or (
                playbook is not None and may_approve(playbook.approvers, person)
            )
            if not allowed:
                refusal = f"only whoever requested {run.playbook} or its approvers may cancel it"
                await self._refuse(conn, run, person, "cancel", refusal, now)
                return RunDecision(Verdict.NOT_ALLOWED, refusal, run_id)
            error = f"cancelled by {person.key}"
            if not await playbook_rows.finish(conn, run_id, RunEvent.CANCEL, now=now, error=error):
                return RunDecision(Verdict.ALREADY_DECIDED, _already(run), run_id)
            await self._decided(
                conn, run, person, "cancel", f"{person.name} cancelled playbook {run.playbook}", now
            )
        task = self._tasks.get(run_id)
        if task is not None and not task.done():
            task.cancel()  # stop the step in flight here; another replica notices at its next renewal
        return RunDecision(Verdict.CANCELLED, f"cancelled {run.playbook}", run_id)

    # -- reading -----------------------------------------------------------------------------------

    async def run(self, run_id: int) -> tuple[RunRow, list[StepRow]] | None:
        async with self.store.engine.connect() as conn:
            run = await playbook_rows.get_run(conn, run_id)
            return None if run is None else (run, await playbook_rows.step_rows(conn, run_id))

    async def runs_of(self, incident_id: int) -> list[RunRow]:
        async with self.store.engine.connect() as conn:
            return await playbook_rows.runs_of_incident(conn, incident_id)

    # -- background work ---------------------------------------------------------------------------

    async def resume_interrupted(self) -> int:
        """At start: take over approved runs and runs whose worker died; expire old requests."""
        return await self.sweep()

    async def sweep(self) -> int:
        """One pass of the worker: expire unanswered requests, launch runs nobody is running."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            for run in await playbook_rows.pending_runs(conn):
                playbook = self.library.get(run.playbook)
                limit = playbook.approval_timeout_seconds if playbook else 3600.0
                if (now - run.requested_at).total_seconds() < limit:
                    continue
                error = f"nobody approved it within {_seconds(limit)}"
                if await playbook_rows.finish(conn, run.id, RunEvent.TIME_OUT, now=now, error=error):
                    await self._note_run(
                        conn, run, f"playbook {run.playbook} expired: {error}", RunStatus.TIMED_OUT
                    )
            candidates = await playbook_rows.claimable(conn, now)
        launched = 0
        for run_id in candidates:
            if self._launch(run_id):
                launched += 1
        return launched

    async def run_worker(self, stop: asyncio.Event) -> None:
        """Sweep every `poll_seconds` until `stop`: picks up runs approved on a replica that died
        before starting them and runs whose worker stopped renewing its lease."""
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("playbook sweep failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)

    async def idle(self) -> None:
        """Wait until every run this process is executing has stopped (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self, grace_seconds: float = 10.0) -> None:
        """Stop taking steps; let steps in flight finish for `grace_seconds`, then cancel them
        (their runs are taken over once the lease runs out, by this or another replica)."""
        self._stopping = True
        tasks = [task for task in self._tasks.values() if not task.done()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _launch(self, run_id: int) -> bool:
        if self._stopping or (run_id in self._tasks and not self._tasks[run_id].done()):
            return False
        task = asyncio.create_task(self._execute(run_id), name=f"playbook-run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _task: self._tasks.pop(run_id, None))
        return True

    # -- execution ---------------------------------------------------------------------------------

    async def _execute(self, run_id: int) -> None:
        try:
            started = await self._start(run_id)
            if started is None:
                return
            run, playbook = started
            heartbeat = asyncio.create_task(self._heartbeat(run_id, asyncio.current_task()))
            try:
                await self._steps(run, playbook)
            finally:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
        except _LostRun:
            log.info("playbook run %s is no longer this worker's", run_id)
            await self._after_cancel(run_id)
        except asyncio.CancelledError:
            await asyncio.shield(self._after_cancel(run_id))
            raise
        except Exception:
            log.exception("playbook run %s failed unexpectedly", run_id)
            await self._fail_unexpectedly(run_id)

    async def _start(self, run_id: int) -> tuple[RunRow, Playbook] | None:
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if not await playbook_rows.claim(conn, run_id, worker=self.worker_id, now=now, lease=self.lease):
                return None
            run = await playbook_rows.get_run(conn, run_id)
            assert run is not None
            playbook = self.library.get(run.playbook)
            if playbook is None or playbook.revision != run.revision:
                error = (
                    f"playbook {run.playbook} changed or was removed after it was approved; request it again"
                )
                await self._end(conn, run, RunEvent.FAIL, error, now)
                return None
            if run.started_at is not None and self._past_deadline(run, playbook):
                await self._end(
                    conn,
                    run,
                    RunEvent.TIME_OUT,
                    f"ran out of time ({_seconds(playbook.timeout_seconds)})",
                    now,
                )
                return None
            await playbook_rows.create_steps(conn, run_id, [(s.name, s.kind.value) for s in playbook.steps])
            if run.current_step is None:
                await self._note_run(
                    conn,
                    run,
                    f"playbook {playbook.title} is running ({len(playbook.steps)} steps)",
                    RunStatus.RUNNING,
                )
        return run, playbook

    async def _steps(self, run: RunRow, playbook: Playbook) -> None:
        values = {
            **run.params,
            "incident_id": str(run.incident_id),
            "run_id": str(run.id),
            "playbook": playbook.name,
        }
        while True:
            async with self.store.transaction() as conn:
                rows = await playbook_rows.step_rows(conn, run.id)
            action = next_action(playbook.steps, [row.status for row in rows])
            now = self.clock.now()
            if isinstance(action, Finished):
                async with self.store.transaction() as conn:
                    if action.succeeded:
                        await self._end(
                            conn, run, RunEvent.SUCCEED, None, now, f"playbook {playbook.title} succeeded"
                        )
                    else:
                        await self._end(conn, run, RunEvent.FAIL, "a step failed", now)
                return
            if isinstance(action, Interrupted):
                step = playbook.steps[action.position]
                error = (
                    "interrupted: nocbot stopped while this step ran; it is not idempotent, so it was "
                    "not repeated — check its target by hand"
                )
                async with self.store.transaction() as conn:
                    await playbook_rows.finish_step(
                        conn, run.id, action.position, StepStatus.FAILED, now=now, output=None, error=error
                    )
                    await self._note_step(conn, run, playbook, action.position, step, False, error, now)
                    await self._end(conn, run, RunEvent.FAIL, f"step {step.name!r} was interrupted", now)
                return
            if self._stopping:
                await self._release(run.id)
                return
            if not await self._one_step(run, playbook, action, values):
                return

    async def _one_step(
        self, run: RunRow, playbook: Playbook, action: RunStep, values: Mapping[str, str]
    ) -> bool:
        """Run a step with its retries; False when the run ended (failed or timed out)."""
        step = playbook.steps[action.position]
        remaining = self._remaining(run, playbook)
        try:
            result = await asyncio.wait_for(self._attempts(run, action.position, step, values), remaining)
        except TimeoutError:
            error = f"the run ran out of time ({_seconds(playbook.timeout_seconds)})"
            now = self.clock.now()
            async with self.store.transaction() as conn:
                await playbook_rows.finish_step(
                    conn, run.id, action.position, StepStatus.FAILED, now=now, output=None, error=error
                )
                await self._end(conn, run, RunEvent.TIME_OUT, error, now)
            return False
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if not await playbook_rows.renew(conn, run.id, worker=self.worker_id, now=now, lease=self.lease):
                raise _LostRun
            status = StepStatus.SUCCEEDED if result.ok else StepStatus.FAILED
            await playbook_rows.finish_step(
                conn, run.id, action.position, status, now=now, output=result.output, error=result.error
            )
            if step.kind is StepKind.NOTIFY and result.ok:
                await self.timeline.note(
                    conn, run.incident_id, kind="playbook_notify", text=result.output, now=now,
                    actor=f"playbook:{playbook.name}", detail={"run_id": run.id}, redraw=False,
                )  # fmt: skip
            else:
                summary = result.output if result.ok else (result.error or "failed")
                await self._note_step(conn, run, playbook, action.position, step, result.ok, summary, now)
            if not result.ok:
                await self._end(conn, run, RunEvent.FAIL, f"step {step.name!r} failed: {result.error}", now)
                return False
        return True

    async def _attempts(
        self, run: RunRow, position: int, step: Step, values: Mapping[str, str]
    ) -> StepResult:
        result = StepResult(False, "", "not run")
        for attempt in range(step.retries + 1):
            now = self.clock.now()
            async with self.store.transaction() as conn:
                if not await playbook_rows.renew(
                    conn, run.id, worker=self.worker_id, now=now, lease=self.lease, current_step=position
                ):
                    raise _LostRun
                await playbook_rows.start_step(conn, run.id, position, now=now)
            try:
                result = await self._perform(run, step, values)
            except RenderError as exc:
                return StepResult(False, "", str(exc))  # the same values fail the same way again
            if result.ok or attempt == step.retries or self._stopping:
                return result
            await asyncio.sleep(step.retry_delay_seconds)
        return result

    async def _perform(self, run: RunRow, step: Step, values: Mapping[str, str]) -> StepResult:
        action = step.action
        if isinstance(action, HttpAction):
            call = render_http(action, values, self.secrets, step.timeout_seconds)
            return await self.executors.http(call)
        if isinstance(action, CommandAction):
            return await self.executors.command(render_argv(action, values), step.timeout_seconds)
        if isinstance(action, WaitAction):
            await asyncio.sleep(action.seconds)
            return StepResult(True, f"waited {_seconds(action.seconds)}")
        if isinstance(action, CheckAction):
            return await self._check(action, step, values)
        if isinstance(action, NotifyAction):
            return StepResult(True, action.text.render(values))
        if isinstance(action, EscalateAction):
            if self.escalate is None:
                return StepResult(False, "", "escalation is not configured (no PagerDuty integration)")
            return StepResult(True, await self.escalate(run.incident_id, action.reason.render(values)))
        assert isinstance(action, ResolveAction)
        if self.resolve is None:
            return StepResult(False, "", "resolving is not configured")
        outcome = await self.resolve(run.incident_id, playbook=run.playbook, run_id=run.id)
        if outcome.result is Result.DONE:
            note = f": {action.note.render(values)}" if action.note else ""
            return StepResult(True, f"resolved #{run.incident_id}{note}")
        if outcome.result is Result.ALREADY_HANDLED:
            return StepResult(True, f"#{run.incident_id} was already resolved")
        return StepResult(False, "", outcome.message)

    async def _check(self, action: CheckAction, step: Step, values: Mapping[str, str]) -> StepResult:
        """Evaluate until the condition holds or the step's timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + step.timeout_seconds
        tries = 0
        while True:
            tries += 1
            condition = action.condition
            if isinstance(condition, MetricCondition):
                result = await self.executors.metric(render_metric(condition, values))
            else:
                budget = max(0.1, min(deadline - loop.time(), 10.0))
                result = await self.executors.probe(render_probe(condition, values, budget))
            if result.ok:
                return StepResult(
                    True, f"{result.output} (after {tries} tries)" if tries > 1 else result.output
                )
            if loop.time() + action.interval_seconds > deadline:
                within = f"not true within {_seconds(step.timeout_seconds)} ({tries} tries)"
                return StepResult(False, result.output, f"{within}: {result.error or result.output}")
            await asyncio.sleep(action.interval_seconds)

    async def _heartbeat(self, run_id: int, runner: asyncio.Task[object] | None) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.store.transaction() as conn:
                    kept = await playbook_rows.renew(
                        conn, run_id, worker=self.worker_id, now=self.clock.now(), lease=self.lease
                    )
            except Exception:
                log.warning("could not renew the lease of playbook run %s", run_id, exc_info=True)
                continue
            if not kept and runner is not None:
                runner.cancel()  # cancelled from chat, timed out, or taken over: stop the step now
                return

    async def _after_cancel(self, run_id: int) -> None:
        """A step cut short by a cancel: record it, unless the run is still ours (shutdown), in
        which case the step stays running for the takeover rules."""
        now = self.clock.now()
        with contextlib.suppress(Exception):
            async with self.store.transaction() as conn:
                run = await playbook_rows.get_run(conn, run_id)
                if run is None or run.status is RunStatus.RUNNING:
                    return
                for row in await playbook_rows.step_rows(conn, run_id):
                    if row.status is StepStatus.RUNNING:
                        await playbook_rows.finish_step(
                            conn, run_id, row.position, StepStatus.FAILED, now=now, output=None,
                            error=f"stopped: the run was {run.status.value.replace('_', ' ')}",
                        )  # fmt: skip

    async def _fail_unexpectedly(self, run_id: int) -> None:
        now = self.clock.now()
        with contextlib.suppress(Exception):
            async with self.store.transaction() as conn:
                run = await playbook_rows.get_run(conn, run_id)
                if run is not None and run.status is RunStatus.RUNNING:
                    await self._end(
                        conn, run, RunEvent.FAIL, "nocbot hit an internal error (see its log)", now
                    )

    async def _release(self, run_id: int) -> None:
        """Shutting down between steps: let another replica (or the next start) continue now."""
        async with self.store.transaction() as conn:
            await playbook_rows.renew(
                conn, run_id, worker=self.worker_id, now=self.clock.now(), lease=timedelta(microseconds=-1)
            )

    # -- helpers -----------------------------------------------------------------------------------

    def _approval_refusal(self, playbook: Playbook, run: RunRow, person: Person) -> str | None:
        if not may_approve(playbook.approvers, person):
            return f"you may not approve {playbook.title}: approvers are {playbook.approvers.describe()}"
        if person.key == run.requested_by and not playbook.allow_self_approval:
            return f"you requested {playbook.title}; someone else must approve it"
        return None

    async def _refuse(
        self, conn: AsyncConnection, run: RunRow, person: Person, attempted: str, reason: str, now: datetime
    ) -> None:
        await playbook_rows.record_decision(
            conn, run.id, actor=person.key, surface=person.surface, decision="refused", now=now
        )
        await audit_rows.audit(
            conn,
            at=now,
            actor=person.key,
            surface=person.surface,
            action=f"playbook_{attempted}_refused",
            incident_id=run.incident_id,
            detail={"run_id": run.id, "playbook": run.playbook, "reason": reason},
        )

    async def _decided(
        self, conn: AsyncConnection, run: RunRow, person: Person, action: str, text: str, now: datetime
    ) -> None:
        await audit_rows.audit(
            conn,
            at=now,
            actor=person.key,
            surface=person.surface,
            action=f"playbook_{action}",
            incident_id=run.incident_id,
            detail={"run_id": run.id, "playbook": run.playbook},
        )
        status = RunStatus.DENIED if action == "deny" else RunStatus.CANCELLED
        await self.timeline.note(
            conn, run.incident_id, kind=f"playbook_{status.value}", text=text, now=now, actor=person.key,
            detail={"run_id": run.id, "playbook": run.playbook, "status": status.value},
        )  # fmt: skip

    async def _already_active(
        self, conn: AsyncConnection, incident_id: int, playbook: Playbook
    ) -> RunDecision:
        for run in await playbook_rows.runs_of_incident(conn, incident_id):
            if run.playbook == playbook.name and run.status.active:
                state = run.status.value.replace("_", " ")
                return RunDecision(
                    Verdict.ALREADY_ACTIVE, f"{playbook.title} is already {state} (run #{run.id})", run.id
                )
        return RunDecision(Verdict.ALREADY_ACTIVE, f"{playbook.title} was just requested by someone else")

    async def _end(
        self,
        conn: AsyncConnection,
        run: RunRow,
        event: RunEvent,
        error: str | None,
        now: datetime,
        text: str | None = None,
    ) -> None:
        if not await playbook_rows.finish(conn, run.id, event, now=now, error=error, worker=self.worker_id):
            raise _LostRun
        status = {
            RunEvent.SUCCEED: RunStatus.SUCCEEDED,
            RunEvent.FAIL: RunStatus.FAILED,
            RunEvent.TIME_OUT: RunStatus.TIMED_OUT,
        }[event]
        await self._note_run(
            conn, run, text or f"playbook {run.playbook} {status.value.replace('_', ' ')}: {error}", status
        )

    async def _note_run(self, conn: AsyncConnection, run: RunRow, text: str, status: RunStatus) -> None:
        await self.timeline.note(
            conn,
            run.incident_id,
            kind=f"playbook_{status.value}",
            text=text,
            now=self.clock.now(),
            actor=f"playbook:{run.playbook}",
            detail={"run_id": run.id, "playbook": run.playbook, "status": status.value},
        )

    async def _note_step(
        self,
        conn: AsyncConnection,
        run: RunRow,
        playbook: Playbook,
        position: int,
        step: Step,
        ok: bool,
        summary: str,
        now: datetime,
    ) -> None:
        first_line = (summary.strip().splitlines() or [""])[0][:300]
        mark = "✓" if ok else "✗"
        text = f"{mark} {playbook.title}: step {position + 1}/{len(playbook.steps)} {step.name}"
        if first_line:
            text += f" — {first_line}"
        await self.timeline.note(
            conn,
            run.incident_id,
            kind="playbook_step",
            text=text,
            now=now,
            actor=f"playbook:{playbook.name}",
            detail={"run_id": run.id, "position": position, "step": step.name, "ok": ok},
            redraw=False,
        )

    def _remaining(self, run: RunRow, playbook: Playbook) -> float:
        started = run.started_at or self.clock.now()
        spent = (self.clock.now() - started).total_seconds()
        return max(playbook.timeout_seconds - spent, 0.001)

    def _past_deadline(self, run: RunRow, playbook: Playbook) -> bool:
        assert run.started_at is not None
        return (self.clock.now() - run.started_at).total_seconds() >= playbook.timeout_seconds


def _already(run: RunRow) -> str:
    if run.status is RunStatus.APPROVED or (run.status is RunStatus.RUNNING and run.approved_by):
        return f"already approved by {run.approved_by}"
    return f"this run is already {run.status.value.replace('_', ' ')}"


def _seconds(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"
