"""Replicas share one live feed: each relays what it publishes to the others with PostgreSQL
NOTIFY, and publishes what they relay, so a console connected to any replica sees every event
(incident events come from the deciding replica, alert arrivals from whichever took the request).

Relaying never holds up publishing: events wait in a bounded queue for the relay task, and are
dropped (counted) when it is full or the database is away; listeners then miss them, as a slow
subscriber would, and the console's periodic refresh covers the gap. A NOTIFY payload is limited
to 8,000 bytes: a larger event is relayed with its type and incident id only. SQLite has one
process, so nothing is relayed there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import web
from sqlalchemy.engine import URL

from bot.feed import FEED, EventFeed, FeedEvent
from bot.keys import STORE

log = logging.getLogger(__name__)

CHANNEL = "nocbot_feed"
MAX_PAYLOAD_BYTES = 7_900  # PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more
QUEUE_SIZE = 10_000
RETRY_SECONDS = 1.0


class FeedRelay:
    def __init__(self, dsn: str, feed: EventFeed, *, queue_size: int = QUEUE_SIZE) -> None:
        self._dsn = dsn
        self._feed = feed
        self._origin = feed.stream
        self._outgoing: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self._conn: asyncpg.Connection | None = None
        self.dropped = 0
        self.received = 0
        self.connected = asyncio.Event()

    def offer(self, event: FeedEvent) -> None:
        """The feed's relay hook: queue `event` for the other replicas; never blocks."""
        payload = self._payload(event.type, event.data)
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            slim = {key: event.data[key] for key in ("incident_id",) if key in event.data}
            payload = self._payload(event.type, {**slim, "truncated": True})
        try:
            self._outgoing.put_nowait(payload)
        except asyncio.QueueFull:
            self.dropped += 1

    def _payload(self, type_: str, data: Any) -> str:
        return json.dumps({"origin": self._origin, "type": type_, "data": data}, separators=(",", ":"))

    async def run(self, stop: asyncio.Event) -> None:
        failing = False
        while not stop.is_set():
            try:
                await self._connect()
                failing = False
                await self._send_until(stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                if not failing:  # once per outage, not once a second
                    log.warning("live feed relay lost the database; retrying", exc_info=True)
                failing = True
            finally:
                await self._disconnect()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETRY_SECONDS)

    async def _connect(self) -> None:
        self._conn = await asyncpg.connect(self._dsn)
        await self._conn.add_listener(CHANNEL, self._received)
        # what queued while the database was away is stale: the other consoles refresh anyway
        while not self._outgoing.empty():
            self._outgoing.get_nowait()
            self.dropped += 1
        self.connected.set()

    async def _send_until(self, stop: asyncio.Event) -> None:
        assert self._conn is not None
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                getting = asyncio.ensure_future(self._outgoing.get())
                await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not getting.done():
                    getting.cancel()
                    return
                await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, getting.result())
        finally:
            stopping.cancel()

    async def _disconnect(self) -> None:
        self.connected.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def _received(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message["origin"] == self._origin:
                return  # our own, published here already
            self._feed.publish(message["type"], message["data"], relay=False)
            self.received += 1
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed live feed notification")


FEED_RELAY = web.AppKey("feed_relay", FeedRelay)


def asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def feed_relay(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: relay the feed between replicas while the app runs (PostgreSQL only)."""
    engine = app[STORE].engine
    if engine.dialect.name != "postgresql":
        yield
        return
    relay = FeedRelay(asyncpg_dsn(engine.url), app[FEED])
    app[FEED_RELAY] = relay
    app[FEED].relays.append(relay.offer)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop), name="feed-relay")
    yield
    app[FEED].relays.remove(relay.offer)
    stop.set()
    await asyncio.gather(task, return_exceptions=True)
