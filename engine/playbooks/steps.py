"""Steps made concrete: a step and the run's values in, the exact call an executor makes out.

Rendering is pure and is where templating's rules apply; the executors (`integrations.
playbook_steps`) do the I/O and know nothing of templates. A value that cannot go where the
template puts it raises `RenderError`, which fails the step before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.playbooks.spec import (
    Aggregate,
    CommandAction,
    Comparison,
    HttpAction,
    MetricCondition,
    ProbeCondition,
)
from engine.playbooks.templating import render_header, render_json


@dataclass(frozen=True, slots=True)
class HttpCall:
    method: str
    url: str
    """Already percent-encoded: send it as is, do not re-encode."""
    headers: Mapping[str, str]
    body: Any
    """JSON-serialisable; None sends no body."""
    timeout_seconds: float
    expect_status: tuple[int, ...] = ()

    def accepts(self, status: int) -> bool:
        return status in self.expect_status if self.expect_status else 200 <= status < 300


@dataclass(frozen=True, slots=True)
class ProbeCall:
    url: str
    timeout_seconds: float
    expect_status: tuple[int, ...] = ()
    body_contains: str | None = None

    def accepts(self, status: int, body: str) -> bool:
        ok = status in self.expect_status if self.expect_status else 200 <= status < 300
        return ok and (self.body_contains is None or self.body_contains in body)


@dataclass(frozen=True, slots=True)
class MetricQuery:
    metric: str
    labels: Mapping[str, str]
    aggregate: Aggregate
    comparison: Comparison
    threshold: float
    window_seconds: float


@dataclass(frozen=True, slots=True)
class StepResult:
    ok: bool
    output: str
    """What responders may read (a status and a body excerpt, a command's output): no secrets."""
    error: str | None = None


class StepExecutors(Protocol):
    """The I/O behind steps; each call is one attempt (the engine retries and times out)."""

    async def http(self, call: HttpCall) -> StepResult: ...

    async def command(self, argv: Sequence[str], timeout_seconds: float) -> StepResult: ...

    async def probe(self, call: ProbeCall) -> StepResult: ...

    async def metric(self, query: MetricQuery) -> StepResult: ...


def render_http(
    action: HttpAction, values: Mapping[str, str], secrets: Mapping[str, str], timeout_seconds: float
) -> HttpCall:
    return HttpCall(
        method=action.method,
        url=action.url.render(values),
        headers={name: render_header(template, values, secrets) for name, template in action.headers},
        body=render_json(action.body, values) if action.body is not None else None,
        timeout_seconds=timeout_seconds,
        expect_status=action.expect_status,
    )


def render_argv(action: CommandAction, values: Mapping[str, str]) -> list[str]:
    return [template.render(values) for template in action.argv]


def render_probe(condition: ProbeCondition, values: Mapping[str, str], timeout_seconds: float) -> ProbeCall:
    return ProbeCall(
        url=condition.url.render(values),
        timeout_seconds=timeout_seconds,
        expect_status=condition.expect_status,
        body_contains=condition.body_contains,
    )


def render_metric(condition: MetricCondition, values: Mapping[str, str]) -> MetricQuery:
    return MetricQuery(
        metric=condition.metric,
        labels={name: template.render(values) for name, template in condition.labels},
        aggregate=condition.aggregate,
        comparison=condition.comparison,
        threshold=condition.threshold,
        window_seconds=condition.window_seconds,
    )
