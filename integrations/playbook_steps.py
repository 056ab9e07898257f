"""The I/O behind playbook steps: HTTP calls and probes, allow-listed commands, metric checks.

Each method is one attempt and never raises for a failure of the target: it returns a failed
`StepResult` saying what happened, and the engine decides about retries and the thread.

Commands run with `asyncio.create_subprocess_exec`: the argv list goes to the executable as is,
with no shell to split, expand or chain it, and only executables on the allow-list run at all.
They get a small environment of their own (not nocbot's, which holds its secrets).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta

import aiohttp
from yarl import URL

from engine.clock import Clock
from engine.playbooks.spec import Aggregate
from engine.playbooks.steps import HttpCall, MetricQuery, ProbeCall, StepResult
from engine.storage.playbook_rows import metric_summary
from engine.storage.store import Store

OUTPUT_LIMIT = 4000


class PlaybookExecutors:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        store: Store,
        clock: Clock,
        *,
        allowed_commands: Collection[str] = (),
        command_env: Mapping[str, str] | None = None,
    ) -> None:
        self.session = session
        self.store = store
        self.clock = clock
        self.allowed_commands = frozenset(allowed_commands)
        self.command_env = (
            dict(command_env) if command_env is not None else {"PATH": os.defpath, "LANG": "C.UTF-8"}
        )

    async def http(self, call: HttpCall) -> StepResult:
        try:
            async with self.session.request(
                call.method,
                URL(call.url, encoded=True),  # rendering percent-encoded the values; keep it exact
                headers=dict(call.headers),
                json=call.body,
                timeout=aiohttp.ClientTimeout(total=call.timeout_seconds),
                allow_redirects=False,  # a redirect must not carry the step's credentials elsewhere
            ) as response:
                body = await response.text(errors="replace")
                output = _clip(f"HTTP {response.status}: {body}")
                if call.accepts(response.status):
                    return StepResult(True, output)
                return StepResult(False, output, f"{call.method} answered HTTP {response.status}")
        except TimeoutError:
            return StepResult(False, "", f"{call.method} got no answer within {call.timeout_seconds:g}s")
        except aiohttp.ClientError as exc:
            return StepResult(False, "", f"{call.method} failed: {exc.__class__.__name__}: {exc}")

    async def probe(self, call: ProbeCall) -> StepResult:
        try:
            async with self.session.get(
                URL(call.url, encoded=True),
                timeout=aiohttp.ClientTimeout(total=call.timeout_seconds),
                allow_redirects=False,
            ) as response:
                body = await response.text(errors="replace")
                output = _clip(f"HTTP {response.status}: {body}")
                if call.accepts(response.status, body):
                    return StepResult(True, output)
                return StepResult(False, output, f"probe answered HTTP {response.status}")
        except TimeoutError:
            return StepResult(False, "", f"probe got no answer within {call.timeout_seconds:g}s")
        except aiohttp.ClientError as exc:
            return StepResult(False, "", f"probe failed: {exc.__class__.__name__}: {exc}")

    async def command(self, argv: Sequence[str], timeout_seconds: float) -> StepResult:
        if not argv or argv[0] not in self.allowed_commands:
            executable = argv[0] if argv else "(none)"
            return StepResult(False, "", f"{executable} is not in the command allow-list")
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=self.command_env,
            )
        except OSError as exc:
            return StepResult(False, "", f"cannot start {argv[0]}: {exc.strerror}")
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout_seconds)
        except TimeoutError:
            process.kill()
            await process.wait()
            return StepResult(False, "", f"{argv[0]} did not finish within {timeout_seconds:g}s (killed)")
        text = _clip(output.decode("utf-8", errors="replace"))
        if process.returncode == 0:
            return StepResult(True, text)
        return StepResult(False, text, f"{argv[0]} exited with status {process.returncode}")

    async def metric(self, query: MetricQuery) -> StepResult:
        since = self.clock.now() - timedelta(seconds=query.window_seconds)
        async with self.store.engine.connect() as conn:
            summary = await metric_summary(conn, query.metric, query.labels, since)
        value = {
            Aggregate.AVG: summary.mean,
            Aggregate.MAX: summary.high,
            Aggregate.MIN: summary.low,
        }[query.aggregate]
        described = f"{query.aggregate.value}({query.metric}{_labels(query.labels)})"
        if value is None:
            return StepResult(False, f"{described}: no data", f"no points of {described} in its window yet")
        output = f"{described} = {value:g} (wanted {query.comparison.value} {query.threshold:g})"
        if query.comparison.holds(value, query.threshold):
            return StepResult(True, output)
        return StepResult(False, output, output)


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ", ".join(f"{name}={value!r}" for name, value in sorted(labels.items())) + "}"


def _clip(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else text[: OUTPUT_LIMIT - 1] + "…"
