"""The live event feed: what happens to alerts and incidents, fanned out to whoever listens.

One `EventFeed` per process. Ingestion (through `bot.feed_incidents`), playbooks and escalation
call `publish`; the console and other tools read it as Server-Sent Events (`GET /api/v1/events`,
`GET /console/events`). Publishing never waits: every subscriber has a bounded queue, and one that
falls behind is dropped (its stream ends; it reconnects and resumes). A small ring buffer of the
latest events lets a reconnecting client resume from its `Last-Event-ID`; one that was away too long,
or saw an earlier run of the server, is told with a `feed.reset` event that it may have missed some.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.keys import CLOCK
from engine.clock import Clock

# The event types nocbot itself publishes; the API document lists them with their payloads.
ALERTS_RECEIVED = "alerts.received"
INCIDENT_OPENED = "incident.opened"
INCIDENT_GREW = "incident.grew"
INCIDENT_PRIORITIZED = "incident.prioritized"
INCIDENT_ACKNOWLEDGED = "incident.acknowledged"
INCIDENT_RESOLVED = "incident.resolved"
INCIDENT_UPDATED = "incident.updated"
INCIDENT_ESCALATED = "incident.escalated"
PLAYBOOK_STEP = "playbook.step"
FEED_RESET = "feed.reset"

RING_SIZE = 500
QUEUE_SIZE = 256
MAX_EVENT_BYTES = 64 * 1024  # an event is a notification, not a document: fetch the details
_TYPE = re.compile(r"^[a-z][a-z_]{0,30}(\.[a-z][a-z_]{0,30}){1,2}$")


@dataclass(frozen=True, slots=True)
class FeedEvent:
    id: str
    """"<stream>-<sequence>": the stream changes with every start of the server."""
    type: str
    at: datetime
    data: Mapping[str, Any]
    json: str
    """`data` with `type`, `at` and `id` added, serialized once for every subscriber."""


class Subscription:
    """One listener's view of the feed: the events it missed, then the live ones as they come."""

    def __init__(self, feed: EventFeed, backlog: list[FeedEvent], queue_size: int) -> None:
        self._feed = feed
        self._backlog = deque(backlog)
        self._queue: asyncio.Queue[FeedEvent | None] = asyncio.Queue(queue_size)
        self.dropped = False
        self.closed = False

    async def next(self, within: float | None = None) -> FeedEvent | None:
        """The next event; None when the subscription ended (dropped, closed) or `within` seconds passed
        (tell those apart with `closed`)."""
        if self._backlog:
            return self._backlog.popleft()
        if self.closed and self._queue.empty():
            return None
        try:
            async with asyncio.timeout(within):
                return await self._queue.get()
        except TimeoutError:
            return None

    def close(self) -> None:
        self._feed._forget(self)
        self._end()

    def _offer(self, event: FeedEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # never let one slow reader hold up ingestion or the others: it loses its place
            self.dropped = True
            self._feed._forget(self)
            self._drain()
            self._end()

    def _end(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._backlog.clear()
        if self._queue.full():
            self._drain()
        self._queue.put_nowait(None)

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()


class EventFeed:
    def __init__(self, clock: Clock, *, ring_size: int = RING_SIZE, queue_size: int = QUEUE_SIZE) -> None:
        self.clock = clock
        self.stream = secrets.token_hex(4)
        self._sequence = 0
        self._ring: deque[FeedEvent] = deque(maxlen=ring_size)
        self._subscribers: list[Subscription] = []
        self._queue_size = queue_size
        self.dropped_total = 0
        self.relays: list[Callable[[FeedEvent], None]] = []
        """Called with every event published here (not with relayed ones): `bot.feed_relay`."""

    def publish(self, type_: str, data: Mapping[str, Any] | None = None, *, relay: bool = True) -> FeedEvent:
        """Send an event to every subscriber now; never blocks.

        `type_` is dotted lower case ("playbook.step"); `data` is a JSON object. An event about one
        incident carries its id as `incident_id`, so that the console redraws that card. Raises
        ValueError for a malformed type, data that is not JSON, or data over MAX_EVENT_BYTES.
        """
        if not _TYPE.match(type_):
            raise ValueError(f"event type must be dotted lower case like 'incident.opened', not {type_!r}")
        body = dict(data or {})
        incident_id = body.get("incident_id")
        if incident_id is not None and (isinstance(incident_id, bool) or not isinstance(incident_id, int)):
            raise ValueError("incident_id must be an integer")
        self._sequence += 1
        event_id = f"{self.stream}-{self._sequence}"
        at = self.clock.now()
        try:
            text = json.dumps(
                {**body, "id": event_id, "type": type_, "at": at.isoformat()},
                ensure_ascii=False,
                separators=(",", ":"),
                allow_nan=False,
            )
        except (TypeError, ValueError) as exc:
            self._sequence -= 1
            raise ValueError(f"event data must be JSON: {exc}") from None
        if len(text.encode()) > MAX_EVENT_BYTES:
            self._sequence -= 1
            raise ValueError(f"event larger than {MAX_EVENT_BYTES} bytes")
        event = FeedEvent(event_id, type_, at, body, text)
        self._ring.append(event)
        for subscriber in list(self._subscribers):
            subscriber._offer(event)
        if relay:
            for offer in self.relays:
                offer(event)
        return event

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        """Listen from now on; with `last_event_id`, first replay what came after it."""
        subscription = Subscription(self, self._since(last_event_id), self._queue_size)
        self._subscribers.append(subscription)
        return subscription

    @contextlib.asynccontextmanager
    async def subscription(self, last_event_id: str | None = None) -> AsyncIterator[Subscription]:
        subscription = self.subscribe(last_event_id)
        try:
            yield subscription
        finally:
            subscription.close()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def recent(self) -> Iterator[FeedEvent]:
        return iter(tuple(self._ring))

    def close(self) -> None:
        """End every subscription (at shutdown, so that open streams finish)."""
        for subscriber in list(self._subscribers):
            subscriber.close()

    def _since(self, last_event_id: str | None) -> list[FeedEvent]:
        if not last_event_id:
            return []
        stream, _, raw = last_event_id.strip().partition("-")
        seen = int(raw) if raw.isdigit() and len(raw) < 19 else None
        events = list(self._ring)
        oldest = int(events[0].id.partition("-")[2]) if events else self._sequence + 1
        # resumable only from this run of the server, and only if nothing after it fell off the ring
        if stream == self.stream and seen is not None and oldest - 1 <= seen <= self._sequence:
            return [event for event in events if int(event.id.partition("-")[2]) > seen]
        return [self._reset_event()]

    def _reset_event(self) -> FeedEvent:
        at = self.clock.now()
        # not numbered: a reset is for this one subscriber, not part of the stream
        event_id = f"{self.stream}-{self._sequence}"
        text = json.dumps(
            {
                "id": event_id,
                "type": FEED_RESET,
                "at": at.isoformat(),
                "reason": "events may have been missed",
            },
            separators=(",", ":"),
        )
        return FeedEvent(event_id, FEED_RESET, at, {}, text)

    def _forget(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(subscription)
            if subscription.dropped:
                self.dropped_total += 1


FEED = web.AppKey("feed", EventFeed)


def install_feed(app: web.Application) -> None:
    """Put the feed on `app` (FEED), feed it from ingestion, and serve `GET /api/v1/events`.

    Call from `create_app` after the database context is appended (the feed's source subscribes to
    `app[INGEST]` when the app starts) and before `install_console`.
    """
    # imported here: both modules build on this one
    from bot.feed_incidents import incident_events
    from bot.feed_relay import feed_relay
    from bot.feed_sse import event_routes

    app[FEED] = EventFeed(app[CLOCK])
    app.cleanup_ctx.append(incident_events)
    app.cleanup_ctx.append(feed_relay)
    app.on_shutdown.append(_end_streams)
    app.add_routes(event_routes)


async def _end_streams(app: web.Application) -> None:
    app[FEED].close()
