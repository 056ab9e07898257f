"""The event feed over HTTP as Server-Sent Events: `GET /api/v1/events` (bearer token).

The console serves the same stream at `/console/events` behind its login cookie, because a
browser's EventSource cannot send an Authorization header.
"""

from __future__ import annotations

from aiohttp import web

from bot.feed import FEED, FeedEvent

HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000
event_routes = web.RouteTableDef()


@event_routes.get("/api/v1/events")
async def get_events(request: web.Request) -> web.StreamResponse:
    return await stream_events(request)


async def stream_events(request: web.Request, *, heartbeat: float = HEARTBEAT_SECONDS) -> web.StreamResponse:
    """Stream the feed to this client until it goes away, is dropped for being slow, or the server
    stops. `Last-Event-ID` (header, or `last_event_id` query parameter) resumes."""
    feed = request.app[FEED]
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache, no-store",
            "X-Accel-Buffering": "no",  # reverse proxies must pass each event on at once
        }
    )
    async with feed.subscription(last[:100] if last else None) as subscription:
        await response.prepare(request)
        try:
            await response.write(f"retry: {RETRY_MS}\n: connected to nocbot\n\n".encode())
            while True:
                event = await subscription.next(within=heartbeat)
                if event is not None:
                    await response.write(sse_frame(event))
                elif subscription.closed:
                    break
                else:
                    await response.write(b": keep-alive\n\n")
        except ConnectionResetError:
            pass  # the client went away: the usual end of a stream
    return response


def sse_frame(event: FeedEvent) -> bytes:
    # the JSON is one line (json.dumps escapes newlines), so one data field carries it
    return f"id: {event.id}\nevent: {event.type}\ndata: {event.json}\n\n".encode()
