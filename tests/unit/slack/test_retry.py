"""Retries told apart by what a failure means: wait, check then retry, or give up."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.errors import SlackRejected, SlackUnavailable
from bot.slack.retry import Failure, Retrier, RetryPolicy, diagnose


def api_error(status: int, error: str | None = None, headers: dict[str, str] | None = None) -> SlackApiError:
    data: dict[str, Any] = {"ok": False, "error": error} if error else {}
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)


class Script:
    """A call that fails as scripted, then answers "ok"; and a sleep that only records."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0
        self.slept: list[float] = []

    async def call(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def retrier(self, **policy: Any) -> Retrier:
        return Retrier(RetryPolicy(**policy), sleep=self.sleep, rng=random.Random(1))


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (api_error(429, "ratelimited", {"Retry-After": "3"}), Failure.RATE_LIMITED),
        (api_error(200, "ratelimited"), Failure.RATE_LIMITED),
        (api_error(500), Failure.UNCERTAIN),
        (api_error(503, "service_unavailable"), Failure.UNCERTAIN),
        (api_error(200, "internal_error"), Failure.UNCERTAIN),
        (aiohttp.ServerDisconnectedError(), Failure.UNCERTAIN),
        (TimeoutError(), Failure.UNCERTAIN),
        (api_error(200, "channel_not_found"), Failure.FINAL),
        (api_error(200, "invalid_auth"), Failure.FINAL),
        (api_error(200, "invalid_blocks"), Failure.FINAL),
    ],
)
def test_failures_are_told_apart(error: BaseException, failure: Failure) -> None:
    diagnosis = diagnose(error)
    assert diagnosis is not None and diagnosis.failure is failure


def test_retry_after_is_read_from_the_header() -> None:
    diagnosis = diagnose(api_error(429, "ratelimited", {"Retry-After": "7"}))
    assert diagnosis is not None and diagnosis.retry_after == 7.0


async def test_rate_limits_wait_as_told() -> None:
    script = Script(
        api_error(429, "ratelimited", {"Retry-After": "2"}),
        api_error(429, "ratelimited", {"Retry-After": "1"}),
    )
    assert await script.retrier().call("chat.postMessage", script.call) == "ok"
    assert script.slept == [2.0, 1.0]


async def test_too_long_a_rate_limit_is_handed_back_to_the_caller() -> None:
    script = Script(api_error(429, "ratelimited", {"Retry-After": "600"}))
    with pytest.raises(SlackUnavailable) as raised:
        await script.retrier(max_retry_after=120).call("chat.postMessage", script.call)
    assert raised.value.retry_after == 600.0
    assert script.slept == []


async def test_rate_limit_waits_are_bounded() -> None:
    script = Script(*(api_error(429, "ratelimited", {"Retry-After": "1"}) for _ in range(5)))
    with pytest.raises(SlackUnavailable):
        await script.retrier(rate_limit_waits=3).call("chat.postMessage", script.call)
    assert script.calls == 4


async def test_server_errors_back_off_exponentially_within_bounds() -> None:
    script = Script(*(api_error(500) for _ in range(3)))
    assert await script.retrier(attempts=5, base_delay=1, max_delay=3).call("m", script.call) == "ok"
    assert len(script.slept) == 3
    for slept, ceiling in zip(script.slept, (1, 2, 3), strict=True):
        assert ceiling / 2 <= slept <= ceiling


async def test_final_errors_are_not_retried() -> None:
    script = Script(api_error(200, "channel_not_found"))
    with pytest.raises(SlackRejected) as raised:
        await script.retrier().call("chat.postMessage", script.call)
    assert (raised.value.method, raised.value.error, script.calls) == (
        "chat.postMessage",
        "channel_not_found",
        1,
    )


async def test_other_exceptions_are_not_swallowed() -> None:
    script = Script(KeyError("bug"))
    with pytest.raises(KeyError):
        await script.retrier().call("m", script.call)


def reconciler(answers: list[Any]) -> tuple[Callable[[], Awaitable[str | None]], list[int]]:
    asked: list[int] = []

    async def reconcile() -> str | None:
        asked.append(1)
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]

    return reconcile, asked


async def test_an_uncertain_failure_is_reconciled_before_calling_again() -> None:
    script = Script(api_error(502))
    reconcile, asked = reconciler(["found it"])
    assert await script.retrier().call("chat.postMessage", script.call, reconcile=reconcile) == "found it"
    assert (script.calls, len(asked)) == (1, 1)


async def test_nothing_found_means_call_again() -> None:
    script = Script(api_error(502))
    reconcile, asked = reconciler([None])
    assert await script.retrier().call("chat.postMessage", script.call, reconcile=reconcile) == "ok"
    assert (script.calls, len(asked)) == (2, 1)


async def test_a_failing_check_is_retried_and_never_skipped() -> None:
    script = Script(api_error(502))
    reconcile, asked = reconciler([api_error(500), api_error(429, "ratelimited", {"Retry-After": "1"}), None])
    assert await script.retrier().call("chat.postMessage", script.call, reconcile=reconcile) == "ok"
    assert (script.calls, len(asked)) == (2, 3)


async def test_a_rate_limit_needs_no_check() -> None:
    script = Script(api_error(429, "ratelimited", {"Retry-After": "1"}))
    reconcile, asked = reconciler([])
    assert await script.retrier().call("chat.postMessage", script.call, reconcile=reconcile) == "ok"
    assert asked == []
