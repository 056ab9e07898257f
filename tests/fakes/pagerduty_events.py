"""A fake PagerDuty Events API v2 on loopback: `POST /v2/enqueue`, answering like PagerDuty.

Accepted events are recorded in `events` (what PagerDuty would act on); every request, accepted or
not, in `requests`. Like PagerDuty it answers 202 `{"status": "success", "message": "Event
processed", "dedup_key": ...}`, and 400 `{"status": "invalid event", ...}` for a body it would refuse.
Faults are scripted: `fail(status, times, retry_after=...)` answers 429/5xx to the next requests, or
to every request for `seconds`; the first scripted fault that applies answers. A refused request is
not recorded as an event (PagerDuty did not process it), unless `after_processing=True`: the event
is accepted and then the answer is lost (a proxy's 502, a dropped connection), the case where a
sender cannot tell and sends again.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

ACTIONS = frozenset({"trigger", "acknowledge", "resolve"})
SEVERITIES = frozenset({"critical", "error", "warning", "info"})
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: str | None
    until: float | None = None  # every request until then (time.monotonic) instead of `remaining`
    after_processing: bool = False

    def take(self, now: float) -> bool:
        """Whether this fault answers a request now (counting it off when it is counted)."""
        if self.until is not None:
            return now < self.until
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass
class FakePagerDuty:
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[dict[str, Any] | None, int]] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _server: TestServer | None = None

    async def start(self) -> FakePagerDuty:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakePagerDuty:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")

    def fail(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        seconds: float | None = None,
        after_processing: bool = False,
    ) -> None:
        """Answer `status` to the next `times` requests, or to all of them for `seconds`."""
        until = None if seconds is None else time.monotonic() + seconds
        self._faults.append(_Fault(status, times, retry_after, until, after_processing))

    def actions(self) -> list[tuple[str, str]]:
        return [(e["event_action"], e["dedup_key"]) for e in self.events]

    async def _enqueue(self, request: web.Request) -> web.Response:
        try:
            event = json.loads(await request.read())
        except ValueError:
            self.requests.append((None, 400))
            return web.json_response(
                {"status": "invalid event", "message": "Event object is invalid", "errors": ["not JSON"]},
                status=400,
            )
        now = time.monotonic()
        fault = next((f for f in self._faults if f.take(now)), None)
        if fault is not None and not fault.after_processing:
            return self._refuse(event, fault)
        errors = _problems(event)
        if errors:
            self.requests.append((event, 400))
            return web.json_response(
                {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                status=400,
            )
        if "dedup_key" not in event:
            event["dedup_key"] = uuid.uuid4().hex
        self.events.append(event)
        if fault is not None:
            return self._refuse(event, fault)
        self.requests.append((event, 202))
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]}, status=202
        )

    def _refuse(self, event: dict[str, Any], fault: _Fault) -> web.Response:
        self.requests.append((event, fault.status))
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        return web.json_response(
            {"status": "throttled" if fault.status == 429 else "error"}, status=fault.status, headers=headers
        )


def _problems(event: Any) -> list[str]:
    """What PagerDuty's validation would refuse (the rules the docs state)."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors = []
    if not isinstance(event.get("routing_key"), str) or not _ROUTING_KEY.match(event["routing_key"]):
        errors.append("'routing_key' is invalid")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is required for acknowledge and resolve")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return [*errors, "'payload' is missing"]
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > 1024:
            errors.append("'payload.summary' must be 1 to 1024 characters")
        if not isinstance(payload.get("source"), str) or not payload["source"]:
            errors.append("'payload.source' is missing")
        if payload.get("severity") not in SEVERITIES:
            errors.append("'payload.severity' is invalid")
    return errors
