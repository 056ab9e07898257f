"""Sends the PagerDuty events the outbox holds to the Events API v2.

Each outbox row is one complete event body (built when the escalation was decided). PagerDuty accepts
about 120 events a minute per routing key; a token bucket per key stays below that, and an event that
would exceed it waits in the outbox (`RetryLater`) instead of holding the worker. Sending the same
event twice is harmless: PagerDuty folds events with one `dedup_key` into one alert.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from engine.outbox import RetryLater, Undeliverable
from engine.storage.outbox_rows import OutboxItem
from integrations.pagerduty import EVENTS_PATH

DEFAULT_RETRY_AFTER = 30.0
# answers that say this event will never be accepted as it is
_REFUSED = frozenset({400, 413, 422})


class PagerDutyUnavailable(Exception):
    """PagerDuty could not take the event now (5xx, an unexpected answer): the outbox backs off."""


@dataclass
class _Bucket:
    tokens: float
    at: float
    held_until: float = 0.0


class KeyPacer:
    """A token bucket per routing key: `burst` events at once, then `per_minute` on average.

    The defaults (10 + 90/min) keep any 60-second window under 100 events, below PagerDuty's ~120."""

    def __init__(
        self, per_minute: float = 90.0, burst: int = 10, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._now = now
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """0 when an event may go now (and counts it), else the seconds to wait."""
        now = self._now()
        bucket = self._buckets.setdefault(key, _Bucket(self.burst, now))
        if now < bucket.held_until:
            return bucket.held_until - now
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def hold(self, key: str, seconds: float) -> None:
        """PagerDuty said 429: nothing more for this key until then, from any lane."""
        now = self._now()
        bucket = self._buckets.setdefault(key, _Bucket(0.0, now))
        bucket.held_until = max(bucket.held_until, now + seconds)
        bucket.tokens = 0.0
        bucket.at = now


class PagerDutyDeliverer:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        events_url: str,
        *,
        pacer: KeyPacer | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.session = session
        self.url = events_url.rstrip("/") + EVENTS_PATH
        self.pacer = pacer or KeyPacer()
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def deliver(self, item: OutboxItem) -> None:
        event = item.payload
        routing_key = str(event.get("routing_key", ""))
        wait = self.pacer.take(routing_key)
        if wait > 0:
            raise RetryLater(wait, "pacing PagerDuty events for this routing key")
        try:
            async with self.session.post(self.url, json=event, timeout=self.timeout) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                body = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PagerDutyUnavailable(f"PagerDuty Events API unreachable: {exc!r}") from exc
        if 200 <= status < 300:
            return
        if status == 429:
            seconds = _retry_after(retry_after)
            self.pacer.hold(routing_key, seconds)
            raise RetryLater(seconds, "PagerDuty rate limit (429)")
        if status in _REFUSED:
            raise Undeliverable(f"PagerDuty refused the {event.get('event_action')} event: {_reason(body)}")
        raise PagerDutyUnavailable(f"PagerDuty answered {status}: {_reason(body)}")


def _retry_after(header: str | None) -> float:
    if not header:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(0.0, moment.timestamp() - time.time())


def _reason(body: str) -> str:
    """PagerDuty's `message` and `errors`, else the start of the body."""
    try:
        answer: Any = json.loads(body)
    except ValueError:
        return body[:300]
    if not isinstance(answer, dict):
        return body[:300]
    parts = [str(answer.get("message") or "")] + [str(e) for e in answer.get("errors") or []]
    return "; ".join(p for p in parts if p)[:300] or body[:300]
