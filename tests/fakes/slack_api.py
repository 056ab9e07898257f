"""A fake Slack on loopback, speaking the Web API's wire format, for tests and benchmarks.

It answers what nocbot calls — auth.test, chat.postMessage / update / postEphemeral, views.open,
users.info, usergroups.list, conversations.list / history / replies, apps.connections.open — with
Slack's envelopes (`{"ok": true, ...}` / `{"ok": false, "error": ...}`), reading arguments from the
query string, a form body or a JSON body as Slack does. It also takes `response_url` posts, and
serves a Socket Mode WebSocket that test code can push envelopes through.

Every call is recorded. Faults are scripted: `rate_limit(...)` answers 429 with Retry-After, `fail(...)`
answers 5xx — before doing the work, or after it (`after_processing=True`, the case that makes a
blind retry post twice) — for the next N matching calls or for a time window.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
TEAM_ID = "T0FAKE001"
BOT_USER_ID = "U0NOCBOT1"
BOT_ID = "B0NOCBOT1"

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    status: int  # what the fake answered: 200, 429, 500...
    error: str | None  # the `error` of an ok:false answer
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    kind: str  # "rate_limit" or "fail"
    methods: frozenset[str] | None
    remaining: int | None
    until: float | None
    status: int = 500
    retry_after: int = 1
    after_processing: bool = False

    def applies(self, method: str, now: float) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        if self.until is not None:
            return now < self.until
        return self.remaining is not None and self.remaining > 0


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)  # oldest first, replies included

    def top_level(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("thread_ts") in (None, m["ts"])]

    def thread(self, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["ts"] == ts or m.get("thread_ts") == ts]

    def find(self, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["ts"] == ts), None)


class FakeSlack:
    def __init__(
        self, *, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN, scopes: Iterable[str] | None = None
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        # the bot token's scopes, sent as Slack does in the x-oauth-scopes header (None: no header)
        self.scopes = None if scopes is None else tuple(scopes)
        self.calls: list[ApiCall] = []
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []  # (response_url id, body)
        self.socket_acks: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._last_ts = 0.0
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._server: TestServer | None = None
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "views.open": self._views_open,
            "users.info": self._users_info,
            "usergroups.list": self._usergroups_list,
            "conversations.list": self._conversations_list,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
        }

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{hook}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, hook: str) -> str:
        return f"{self.url}/response/{hook}"

    # -- the workspace ------------------------------------------------------------------------------

    def add_channel(self, name: str, *, private: bool = False) -> str:
        channel_id = f"{'G' if private else 'C'}{next(self._ids):08d}"
        self.channels[channel_id] = Channel(channel_id, name, private)
        return channel_id

    def add_user(self, user_id: str, display_name: str, *, groups: Iterable[str] = ()) -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": display_name.lower().replace(" ", "."),
            "real_name": display_name,
            "profile": {"display_name": display_name, "real_name": display_name},
        }
        for handle in groups:
            group = next((g for g in self.usergroups if g["handle"] == handle), None)
            if group is None:
                group = {"id": f"S{next(self._ids):08d}", "handle": handle, "users": []}
                self.usergroups.append(group)
            group["users"].append(user_id)

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel, oldest first."""
        return self.channels[channel_id].top_level()

    def replies(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.channels[channel_id].thread(ts) if m["ts"] != ts]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    # -- faults -------------------------------------------------------------------------------------

    def rate_limit(
        self,
        *,
        next_calls: int | None = None,
        seconds: float | None = None,
        retry_after: int = 1,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer 429 + Retry-After to the next `next_calls` matching calls, or for `seconds`."""
        self._faults.append(
            Fault("rate_limit", _methods(methods), next_calls, _until(seconds), 429, retry_after)
        )

    def fail(
        self,
        *,
        next_calls: int | None = None,
        seconds: float | None = None,
        status: int = 500,
        after_processing: bool = False,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer `status` to the next `next_calls` matching calls, or for `seconds`; with
        `after_processing` the call takes effect first, as when Slack's answer is lost."""
        self._faults.append(
            Fault("fail", _methods(methods), next_calls, _until(seconds), status, 1, after_processing)
        )

    # -- waiting ------------------------------------------------------------------------------------

    async def wait_until(self, condition: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            async with self._changed:
                await self._changed.wait_for(condition)

    async def _changed_now(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- Web API ------------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await _arguments(request)
        token = _token(request, args)
        try:
            return await self._answer(method, args, token)
        finally:
            await self._changed_now()

    async def _answer(self, method: str, args: dict[str, Any], token: str | None) -> web.StreamResponse:
        fault = self._take_fault(method)
        if fault is not None and fault.kind == "rate_limit":
            return self._record(method, args, 429, {"ok": False, "error": "ratelimited"}, fault)
        if fault is not None and not fault.after_processing:
            return self._record(method, args, fault.status, None, fault)
        body = self._dispatch(method, args, token)
        if fault is not None:
            return self._record(method, args, fault.status, None, fault)
        return self._record(method, args, 200, body, None)

    def _dispatch(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method == "apps.connections.open":
            if token != self.app_token:
                return _error("invalid_auth" if token else "not_authed")
            return {"ok": True, "url": self.url.replace("http", "ws", 1) + "/socket"}
        if token is None:
            return _error("not_authed")
        if token != self.bot_token:
            return _error("invalid_auth")
        handler = self._handlers.get(method)
        if handler is None:
            return _error("unknown_method")
        try:
            return handler(args)
        except _SlackError as exc:
            return _error(exc.error)

    def _take_fault(self, method: str) -> Fault | None:
        now = time.monotonic()
        for fault in self._faults:
            if fault.applies(method, now):
                if fault.remaining is not None and fault.until is None:
                    fault.remaining -= 1
                return fault
        return None

    def _record(
        self,
        method: str,
        args: dict[str, Any],
        status: int,
        body: dict[str, Any] | None,
        fault: Fault | None,
    ) -> web.StreamResponse:
        error = None if body is None else body.get("error")
        self.calls.append(ApiCall(method, args, status, error if isinstance(error, str) else None))
        if body is None:  # a server error from a proxy: no JSON at all
            return web.Response(status=status, text="<html>upstream error</html>", content_type="text/html")
        headers = {"Retry-After": str(fault.retry_after)} if fault and fault.kind == "rate_limit" else {}
        if self.scopes is not None:
            headers["x-oauth-scopes"] = ",".join(self.scopes)
        return web.json_response(body, status=status, headers=headers)

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake-nocbot.slack.com/",
            "team": "Fake Workspace",
            "user": "nocbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), by_name=True)
        blocks = _json_arg(args.get("blocks"), "invalid_blocks")
        if not args.get("text") and not blocks:
            raise _SlackError("no_text")
        if blocks is not None and not isinstance(blocks, list):
            raise _SlackError("invalid_blocks")
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None and channel.find(str(thread_ts)) is None:
            raise _SlackError("thread_not_found")
        message: dict[str, Any] = {
            "type": "message",
            "ts": self._next_ts(),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": args.get("text") or "",
        }
        if blocks is not None:
            message["blocks"] = blocks
        metadata = _json_arg(args.get("metadata"), "invalid_metadata_format")
        if metadata is not None:
            message["metadata"] = metadata
        if thread_ts is not None:
            message["thread_ts"] = str(thread_ts)
        channel.messages.append(message)
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": _public(message)}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), by_name=False)
        message = channel.find(str(args.get("ts") or ""))
        if message is None:
            raise _SlackError("message_not_found")
        blocks = _json_arg(args.get("blocks"), "invalid_blocks")
        if "text" in args:
            message["text"] = args["text"] or ""
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel.id,
            "ts": message["ts"],
            "text": message["text"],
            "message": _public(message),
        }

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), by_name=True)
        if not args.get("user"):
            raise _SlackError("user_not_in_channel")
        if not args.get("text") and not args.get("blocks"):
            raise _SlackError("no_text")
        message_ts = self._next_ts()
        self.ephemerals.append({**args, "channel": channel.id, "message_ts": message_ts})
        return {"ok": True, "message_ts": message_ts}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _json_arg(args.get("view"), "invalid_arguments")
        if not args.get("trigger_id"):
            raise _SlackError("invalid_trigger_id")
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise _SlackError("invalid_arguments")
        opened = {**view, "id": f"V{next(self._ids):08d}"}
        self.views.append({"trigger_id": args["trigger_id"], "view": opened})
        return {"ok": True, "view": opened}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            raise _SlackError("user_not_found")
        return {"ok": True, "user": user}

    def _usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        with_users = _truthy(args.get("include_users"))
        groups = [
            {key: value for key, value in group.items() if with_users or key != "users"}
            for group in self.usergroups
        ]
        return {"ok": True, "usergroups": groups}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        channels = [
            {"id": c.id, "name": c.name, "is_channel": not c.is_private, "is_private": c.is_private}
            for c in self.channels.values()
        ]
        return _page(channels, "channels", args)

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), by_name=False)
        messages = _within(list(reversed(channel.top_level())), args)  # newest first, as Slack
        return _page(
            [_public(m, _truthy(args.get("include_all_metadata"))) for m in messages], "messages", args
        )

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), by_name=False)
        ts = str(args.get("ts") or "")
        if channel.find(ts) is None:
            raise _SlackError("thread_not_found")
        messages = _within(channel.thread(ts), args)  # oldest first, as Slack
        return _page(
            [_public(m, _truthy(args.get("include_all_metadata"))) for m in messages], "messages", args
        )

    def _channel(self, raw: Any, *, by_name: bool) -> Channel:
        key = str(raw or "")
        if key in self.channels:
            return self.channels[key]
        if by_name:
            name = key.removeprefix("#")
            for channel in self.channels.values():
                if channel.name == name:
                    return channel
        raise _SlackError("channel_not_found")

    def _next_ts(self) -> str:
        # real time, strictly increasing, six decimals: the shape and the order of Slack's ts
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    # -- response_url ---------------------------------------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append((request.match_info["hook"], await request.json()))
        await self._changed_now()
        return web.json_response({"ok": True})

    # -- Socket Mode --------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKE"}})
        await self._changed_now()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.socket_acks.append(json.loads(message.data))
                    await self._changed_now()
        finally:
            self._sockets.remove(ws)
            await self._changed_now()
        return ws

    @property
    def socket_connected(self) -> bool:
        return bool(self._sockets)

    async def send_envelope(self, kind: str, payload: Mapping[str, Any]) -> str:
        """Push a Socket Mode envelope ("interactive", "slash_commands", "events_api")."""
        envelope_id = f"env-{next(self._ids)}"
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id


class _SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _error(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error}


def _methods(methods: Iterable[str] | None) -> frozenset[str] | None:
    return None if methods is None else frozenset(methods)


def _until(seconds: float | None) -> float | None:
    return None if seconds is None else time.monotonic() + seconds


async def _arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        else:
            args.update(await request.post())
    return args


def _token(request: web.Request, args: dict[str, Any]) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token
    raw = args.pop("token", None)
    return str(raw) if raw else None


def _json_arg(raw: Any, error: str) -> Any:
    """Blocks, metadata and views come as JSON text in a form body, as objects in a JSON body."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise _SlackError(error) from None
    return raw


def _truthy(raw: Any) -> bool:
    return raw is True or str(raw).lower() in {"1", "true"}


def _within(messages: list[dict[str, Any]], args: Mapping[str, Any]) -> list[dict[str, Any]]:
    oldest = float(args.get("oldest") or 0)
    latest = float(args.get("latest") or "inf")
    return [m for m in messages if oldest <= float(m["ts"]) <= latest]


def _public(message: Mapping[str, Any], with_metadata: bool = True) -> dict[str, Any]:
    shown = dict(message)
    if not with_metadata:
        shown.pop("metadata", None)
    return shown


def _page(items: list[dict[str, Any]], key: str, args: Mapping[str, Any]) -> dict[str, Any]:
    limit = max(1, min(int(args.get("limit") or 100), 1000))
    start = int(args.get("cursor") or 0)
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return {
        "ok": True,
        key: chunk,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }
