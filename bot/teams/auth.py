"""Bot Framework authentication, both ways.

Inbound (`RequestAuthenticator`): every request to /api/messages carries a JWT that Teams' Bot
Connector signed. It is checked as the Bot Framework protocol asks: RS256 signature by a key from the
issuer's OpenID metadata, issuer, audience = our app id, lifetime (5 min of clock skew), the key's
endorsement of the activity's channel, and the `serviceurl` claim against the activity's serviceUrl
(so a token cannot send us to another host). The SDK's own validator checks neither issuer nor
endorsements and cannot be pointed at other metadata, hence this one.

Outbound (`BotTokens`): the app's client-credentials token for the Bot Connector, cached until
shortly before it expires and shared by every call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
from microsoft_agents.hosting.core.authorization import ClaimsIdentity

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
LEEWAY_SECONDS = 300
KEYS_MAX_AGE = 24 * 3600.0
KEYS_MIN_REFRESH = 60.0  # an unknown key id refetches the keys, but not more often than this
TOKEN_EARLY_SECONDS = 300.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class TeamsEndpoints:
    """Where Microsoft's identity services are; tests point them at fakes on loopback."""

    bot_framework_openid: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    entra_openid: str = "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
    token_url: str = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"  # noqa: S105
    scope: str = "https://api.botframework.com/.default"

    def issuers(self, tenant: str | None) -> dict[str, str]:
        """Accepted token issuer → its OpenID metadata URL. Entra-issued tokens only for a tenant."""
        accepted = {BOT_FRAMEWORK_ISSUER: self.bot_framework_openid}
        if tenant:
            entra = self.entra_openid.format(tenant=tenant)
            accepted[f"https://login.microsoftonline.com/{tenant}/v2.0"] = entra
            accepted[f"https://sts.windows.net/{tenant}/"] = entra
        return accepted


class Unauthorized(Exception):
    """The request is not from the Bot Connector for this bot (answered 401)."""


class KeysUnavailable(Exception):
    """The signing keys could not be fetched (answered 503: Teams tries again)."""


class TokenUnavailable(Exception):
    """No token for outbound calls; transient as far as the outbox is concerned."""


@dataclass(frozen=True, slots=True)
class _Key:
    key: jwt.PyJWK
    endorsements: frozenset[str]


@dataclass
class _KeySet:
    keys: dict[str, _Key] = field(default_factory=dict)
    fetched_at: float = float("-inf")


class SigningKeys:
    """Signing keys by metadata URL, fetched when first needed and refreshed daily or on a new kid."""

    def __init__(
        self, session: aiohttp.ClientSession, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._session = session
        self._clock = clock
        self._sets: dict[str, _KeySet] = {}
        self._lock = asyncio.Lock()

    async def key(self, metadata_url: str, kid: str) -> _Key | None:
        async with self._lock:
            keys = self._sets.setdefault(metadata_url, _KeySet())
            age = self._clock() - keys.fetched_at
            if age > KEYS_MAX_AGE or (kid not in keys.keys and age > KEYS_MIN_REFRESH):
                keys.keys = await self._fetch(metadata_url)
                keys.fetched_at = self._clock()
            return keys.keys.get(kid)

    async def _fetch(self, metadata_url: str) -> dict[str, _Key]:
        try:
            metadata = await self._json(metadata_url)
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise KeysUnavailable(f"no jwks_uri in {metadata_url}")
            document = await self._json(jwks_uri)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise KeysUnavailable(f"{metadata_url}: {exc}") from exc
        keys: dict[str, _Key] = {}
        for entry in document.get("keys") or []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("kid"), str):
                continue
            try:
                parsed = jwt.PyJWK(dict(entry), algorithm="RS256")
            except jwt.PyJWTError:
                continue  # a key of another type: not one a Bot Framework token is signed with
            endorsements = entry.get("endorsements") or []
            keys[entry["kid"]] = _Key(parsed, frozenset(e for e in endorsements if isinstance(e, str)))
        return keys

    async def _json(self, url: str) -> Mapping[str, Any]:
        async with self._session.get(url, timeout=HTTP_TIMEOUT) as response:
            response.raise_for_status()
            document = await response.json(content_type=None)
        if not isinstance(document, Mapping):
            raise ValueError("not a JSON object")
        return document


class RequestAuthenticator:
    def __init__(self, app_id: str, tenant: str | None, keys: SigningKeys, endpoints: TeamsEndpoints) -> None:
        self.app_id = app_id
        self._issuers = endpoints.issuers(tenant)
        self._keys = keys

    async def authenticate(self, authorization: str | None, activity: Mapping[str, Any]) -> ClaimsIdentity:
        """The claims of a valid token for this activity; raises Unauthorized or KeysUnavailable."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"malformed token: {exc}") from None
        issuer = unverified.get("iss")
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise Unauthorized("token not signed with RS256 and a key id")
        if not isinstance(issuer, str) or issuer not in self._issuers:
            raise Unauthorized(f"token from an unexpected issuer {str(issuer)[:100]!r}")
        key = await self._keys.key(self._issuers[issuer], header["kid"])
        if key is None:
            raise Unauthorized("token signed with an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        channel = activity.get("channelId")
        if key.endorsements and channel not in key.endorsements:
            raise Unauthorized(f"the signing key is not endorsed for channel {str(channel)[:50]!r}")
        service_url = claims.get("serviceurl") or claims.get("serviceUrl")
        if service_url is not None and service_url != activity.get("serviceUrl"):
            raise Unauthorized("the activity's serviceUrl is not the one the token was issued for")
        return ClaimsIdentity(claims, True, "Bearer", security_token=token)


Tokens = Callable[[], Awaitable[str]]


class BotTokens:
    """The bot's own access token (client credentials), cached; "" in anonymous mode."""

    def __init__(
        self,
        session: aiohttp.ClientSession | None,
        *,
        app_id: str | None,
        password: str | None,
        tenant: str,
        endpoints: TeamsEndpoints,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._app_id = app_id
        self._password = password
        self._url = endpoints.token_url.format(tenant=tenant)
        self._scope = endpoints.scope
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token = ""
        self._fresh_until = float("-inf")

    @classmethod
    def anonymous(cls) -> BotTokens:
        return cls(None, app_id=None, password=None, tenant="", endpoints=TeamsEndpoints())

    @property
    def is_anonymous(self) -> bool:
        return self._session is None

    async def token(self) -> str:
        if self._session is None:
            return ""
        async with self._lock:
            if self._clock() >= self._fresh_until:
                self._token, lifetime = await self._fetch(self._session)
                self._fresh_until = self._clock() + max(0.0, lifetime - TOKEN_EARLY_SECONDS)
            return self._token

    def forget(self) -> None:
        """The connector refused the token (401): fetch a new one next time."""
        self._fresh_until = float("-inf")

    async def _fetch(self, session: aiohttp.ClientSession) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._app_id or "",
            "client_secret": self._password or "",
            "scope": self._scope,
        }
        try:
            async with session.post(self._url, data=form, timeout=HTTP_TIMEOUT) as response:
                body = await response.json(content_type=None)
                if response.status != 200 or not isinstance(body, Mapping):
                    detail = body.get("error") if isinstance(body, Mapping) else None
                    raise TokenUnavailable(
                        f"token endpoint answered {response.status} {detail or ''}".strip()
                    )
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TokenUnavailable(f"token endpoint unreachable: {exc}") from exc
        token, lifetime = body.get("access_token"), body.get("expires_in", 3600)
        if not isinstance(token, str) or not token:
            raise TokenUnavailable("token endpoint answered without an access_token")
        try:
            return token, float(lifetime)
        except (TypeError, ValueError):
            return token, 3600.0
