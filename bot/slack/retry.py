"""Bounded retries for Web API calls, told apart by what a failure means.

- 429 / `ratelimited`: Slack did nothing; wait `Retry-After`, then call again.
- 5xx, a transient `error`, a dropped connection or a timeout: Slack may or may not have done it.
  Before calling again the caller gets the chance to `reconcile` (look for what the call would
  have made), so that a retried post is never posted twice.
- anything else: Slack refused and will refuse again (SlackRejected).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.slack.errors import SlackRejected, SlackUnavailable

log = logging.getLogger("nocbot.slack")

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

# `ok: false` errors documented as temporary; every other error is taken as final.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


class Failure(enum.Enum):
    RATE_LIMITED = "rate_limited"
    UNCERTAIN = "uncertain"  # the call may have taken effect
    FINAL = "final"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    failure: Failure
    error: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    """Calls made in all, counting the first, when Slack fails or cannot be reached."""
    rate_limit_waits: int = 10
    """Retry-After waits honoured before giving up; the caller (an outbox) tries again later."""
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0
    """A longer Retry-After is not slept through here but handed back in SlackUnavailable."""

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Exponential, with jitter so that many callers do not retry in step."""
        ceiling: float = min(self.max_delay, self.base_delay * 2.0 ** (failures - 1))
        return ceiling * (0.5 + rng.random() / 2)


def diagnose(exc: BaseException) -> Diagnosis | None:
    """What a failed call means; None for exceptions that are not about talking to Slack."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 0)
        error = _error_code(exc.response)
        if status == 429 or error == "ratelimited":
            return Diagnosis(Failure.RATE_LIMITED, "ratelimited", _retry_after(exc.response))
        if status >= 500 or error in TRANSIENT_ERRORS:
            return Diagnosis(Failure.UNCERTAIN, error or f"http_{status}")
        return Diagnosis(Failure.FINAL, error or f"http_{status}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | ConnectionError):
        return Diagnosis(Failure.UNCERTAIN, type(exc).__name__)
    return None


class Retrier:
    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()

    async def call(
        self,
        method: str,
        call: Callable[[], Awaitable[T]],
        *,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        """Run `call` until it succeeds, fails for good, or the policy's bounds are reached.

        After an uncertain failure, `reconcile` (when given) is awaited before calling again: a
        result means the earlier call did take effect and is returned instead of calling again.
        """
        failures = waits = 0
        must_reconcile = False
        while True:
            try:
                if must_reconcile and reconcile is not None:
                    found = await reconcile()
                    if found is not None:
                        log.info("slack call had gone through", extra={"method": method})
                        return found
                must_reconcile = False
                return await call()
            except Exception as exc:
                diagnosis = diagnose(exc)
                if diagnosis is None:
                    raise
                if diagnosis.failure is Failure.FINAL:
                    if must_reconcile:
                        # the check itself is refused (e.g. missing_scope): say so, and post anyway
                        log.error(
                            "cannot check whether an uncertain slack call went through; calling again",
                            extra={"method": method, "error": diagnosis.error},
                        )
                        must_reconcile = False
                        continue
                    raise SlackRejected(method, diagnosis.error) from exc
                if diagnosis.failure is Failure.RATE_LIMITED:
                    waits += 1
                    delay = diagnosis.retry_after or self.policy.base_delay
                    if waits > self.policy.rate_limit_waits or delay > self.policy.max_retry_after:
                        raise SlackUnavailable(
                            method, "ratelimited", f"after {waits - 1} waits", retry_after=delay
                        ) from exc
                else:
                    failures += 1
                    must_reconcile = must_reconcile or reconcile is not None
                    if failures >= self.policy.attempts:
                        raise SlackUnavailable(method, diagnosis.error, f"after {failures} attempts") from exc
                    delay = self.policy.backoff(failures, self._rng)
                log.warning(
                    "slack call failed; retrying",
                    extra={"method": method, "error": diagnosis.error, "delay_s": round(delay, 3)},
                )
                await self._sleep(delay)


def _error_code(response: Any) -> str:
    data = getattr(response, "data", None)
    if isinstance(data, Mapping):
        error = data.get("error")
        return error if isinstance(error, str) else ""
    return ""


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if not isinstance(raw, str | int | float):
        return None
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None
