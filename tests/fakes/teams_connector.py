"""A fake Microsoft Teams on loopback: the Bot Connector REST API, the bot's token endpoint, and the
OpenID metadata and signing keys its channel tokens are checked against.

It answers what nocbot calls — POST /v3/conversations/{id}/activities (post),
POST …/activities/{replyToId} (reply in a thread), PUT …/activities/{activityId} (update),
GET /v3/teams/{id}/conversations (a team's channels), POST /{tenant}/oauth2/v2.0/token — and, like
Teams, refuses connector calls without the token it issued. `channel_token` signs what the Bot
Connector would send with an inbound activity, with the RSA key published at the fake's JWKS.

Every call is recorded. Faults are scripted: `rate_limit(...)` answers 429 with Retry-After, `fail(...)`
answers 5xx, before doing the work or after it (`after_processing=True`), for the next N matching
calls or for a time window; the first scripted fault that applies answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.teams.auth import BOT_FRAMEWORK_ISSUER, TeamsEndpoints

APP_ID = "00000000-0000-4000-8000-00000000b07d"
APP_PASSWORD = "fake-client-secret"
TENANT_ID = "11111111-1111-4111-8111-111111111111"
BOT_ID = f"28:{APP_ID}"
BOT_NAME = "nocbot"
KEY_ID = "fake-key-1"


@dataclass
class Call:
    kind: str  # "send", "reply", "update", "channels", "token"
    conversation: str | None
    activity_id: str | None  # reply: the message replied to; update: the message updated
    body: dict[str, Any]
    status: int
    authorization: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Message:
    id: str
    conversation: str
    activity: dict[str, Any]
    reply_to: str | None = None
    updates: int = 0


@dataclass
class Fault:
    kinds: frozenset[str] | None
    remaining: int | None  # the next N matching calls, or
    until: float | None  # every matching call until then (time.monotonic)
    status: int
    retry_after: int = 1
    after_processing: bool = False

    def take(self, kind: str, now: float) -> bool:
        """Whether this fault answers a `kind` call now (counting it off when it is counted)."""
        if self.kinds is not None and kind not in self.kinds:
            return False
        if self.until is not None:
            return now < self.until
        if self.remaining is None or self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


def endpoints_at(url: str) -> TeamsEndpoints:
    """Microsoft's identity services as a fake at `url` serves them (for a process of its own that
    is given only the fake's URL)."""
    return TeamsEndpoints(
        bot_framework_openid=f"{url}/botframework/.well-known/openidconfiguration",
        entra_openid=f"{url}/{{tenant}}/v2.0/.well-known/openid-configuration",
        token_url=f"{url}/{{tenant}}/oauth2/v2.0/token",
    )


def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeTeams:
    def __init__(self, *, require_token: bool = True, endorsements: Iterable[str] = ("msteams",)) -> None:
        self.require_token = require_token
        self.key = signing_key()
        self.endorsements = list(endorsements)
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.teams: dict[str, list[dict[str, Any]]] = {}
        self.issued: set[str] = set()
        self.key_fetches = 0
        self._faults: list[Fault] = []
        self._ids = itertools.count(1_731_000_000_001)
        self._changed = asyncio.Condition()
        self._server: TestServer | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> FakeTeams:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/teams/{team}/conversations", self._channels)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_get("/botframework/.well-known/openidconfiguration", self._openid)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._openid)
        app.router.add_get("/keys", self._keys)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeTeams:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")

    @property
    def service_url(self) -> str:
        """What activities carry as serviceUrl (Teams' look like https://smba.trafficmanager.net/emea/)."""
        return f"{self.url}/"

    @property
    def endpoints(self) -> TeamsEndpoints:
        return endpoints_at(self.url)

    # -- the tenant -------------------------------------------------------------------------------

    def add_team(self, team_id: str, channels: Iterable[tuple[str, str | None]]) -> None:
        """A team and its channels as (id, name); the General channel's id is the team's, unnamed."""
        self.teams[team_id] = [{"id": cid, "name": name} for cid, name in channels]

    def posts(self, conversation: str | None = None) -> list[Message]:
        """Top-level messages (cards), oldest first."""
        return [m for m in self.messages if m.reply_to is None and conversation in (None, m.conversation)]

    def replies(self, activity_id: str) -> list[Message]:
        return [m for m in self.messages if m.reply_to == activity_id]

    def calls_of(self, kind: str) -> list[Call]:
        return [call for call in self.calls if call.kind == kind]

    def channel_token(
        self,
        *,
        audience: str = APP_ID,
        service_url: str | None = None,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        lifetime: float = 3600,
        key: rsa.RSAPrivateKey | None = None,
        kid: str = KEY_ID,
    ) -> str:
        """A token as the Bot Connector sends with an activity."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url or self.service_url,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": now + int(lifetime),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    # -- faults -----------------------------------------------------------------------------------

    def rate_limit(
        self,
        next_calls: int | None = None,
        *,
        seconds: float | None = None,
        retry_after: int = 1,
        kinds: Iterable[str] | None = None,
    ) -> None:
        """Answer 429 + Retry-After to the next `next_calls` matching calls, or for `seconds`."""
        self._faults.append(Fault(_kinds(kinds), next_calls, _until(seconds), 429, retry_after))

    def fail(
        self,
        next_calls: int | None = None,
        *,
        seconds: float | None = None,
        status: int = 500,
        after_processing: bool = False,
        kinds: Iterable[str] | None = None,
    ) -> None:
        """Answer `status` to the next `next_calls` matching calls, or for `seconds`; with
        `after_processing` the call takes effect first, as when Teams' answer is lost."""
        self._faults.append(
            Fault(_kinds(kinds), next_calls, _until(seconds), status, after_processing=after_processing)
        )

    async def wait_until(self, condition: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(condition)

    # -- the Bot Connector ------------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.StreamResponse:
        conversation = request.match_info["conversation"]

        def post(body: dict[str, Any]) -> dict[str, Any]:
            message = Message(str(next(self._ids)), conversation, body)
            self.messages.append(message)
            return {"id": message.id}

        return await self._connector(request, "send", conversation, None, post)

    async def _reply(self, request: web.Request) -> web.StreamResponse:
        conversation, reply_to = request.match_info["conversation"], request.match_info["activity"]

        def reply(body: dict[str, Any]) -> dict[str, Any]:
            message = Message(str(next(self._ids)), conversation, body, reply_to=reply_to)
            self.messages.append(message)
            return {"id": message.id}

        return await self._connector(request, "reply", conversation, reply_to, reply)

    async def _update(self, request: web.Request) -> web.StreamResponse:
        conversation, activity_id = request.match_info["conversation"], request.match_info["activity"]

        def update(body: dict[str, Any]) -> dict[str, Any]:
            message = next((m for m in self.messages if m.id == activity_id), None)
            if message is None or message.conversation != conversation:
                raise _Refusal(404, "NotFound", "activity not found")
            message.activity = body
            message.updates += 1
            return {"id": activity_id}

        return await self._connector(request, "update", conversation, activity_id, update)

    async def _channels(self, request: web.Request) -> web.StreamResponse:
        team = request.match_info["team"]

        def channels(_body: dict[str, Any]) -> dict[str, Any]:
            if team not in self.teams:
                raise _Refusal(404, "NotFound", "team not found")
            return {"conversations": self.teams[team]}

        return await self._connector(request, "channels", team, None, channels)

    async def _connector(
        self,
        request: web.Request,
        kind: str,
        conversation: str,
        activity_id: str | None,
        work: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else {}
        authorization = request.headers.get("Authorization")
        status, answer, headers = self._answer(kind, body, authorization, work)
        self.calls.append(Call(kind, conversation, activity_id, body, status, authorization))
        async with self._changed:
            self._changed.notify_all()
        return web.json_response(answer, status=status, headers=headers)

    def _answer(
        self,
        kind: str,
        body: dict[str, Any],
        authorization: str | None,
        work: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.require_token:
            scheme, _, token = (authorization or "").partition(" ")
            if scheme != "Bearer" or token not in self.issued:
                return 401, _error("Unauthorized", "invalid or missing token"), {}
        now = time.monotonic()
        fault = next((f for f in self._faults if f.take(kind, now)), None)
        if fault is not None:
            if fault.status == 429:
                return 429, _error("TooManyRequests", "slow down"), {"Retry-After": str(fault.retry_after)}
            if fault.after_processing:
                with contextlib.suppress(_Refusal):
                    work(body)
            return fault.status, _error("ServiceError", "something broke"), {}
        try:
            return 200 if kind != "send" else 201, work(body), {}
        except _Refusal as refusal:
            return refusal.status, _error(refusal.code, refusal.message), {}

    # -- identity ---------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        ok = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == APP_ID
            and form.get("client_secret") == APP_PASSWORD
            and form.get("scope") == "https://api.botframework.com/.default"
        )
        token = f"bot-token-{uuid.uuid4().hex}"
        if ok:
            self.issued.add(token)
        self.calls.append(
            Call("token", request.match_info["tenant"], None, dict(form), 200 if ok else 401, None)
        )
        if not ok:
            return web.json_response({"error": "invalid_client"}, status=401)
        return web.json_response({"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    async def _openid(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"issuer": BOT_FRAMEWORK_ISSUER, "jwks_uri": f"{self.url}/keys"})

    async def _keys(self, request: web.Request) -> web.StreamResponse:
        self.key_fetches += 1
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": KEY_ID, "use": "sig", "endorsements": self.endorsements})
        return web.json_response({"keys": [public]})


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _kinds(kinds: Iterable[str] | None) -> frozenset[str] | None:
    return None if kinds is None else frozenset(kinds)


def _until(seconds: float | None) -> float | None:
    return None if seconds is None else time.monotonic() + seconds
