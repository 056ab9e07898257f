"""Console login: the ingest token once, then a signed session cookie.

The cookie holds who signed in and until when, signed with a key derived from the token: it is not
the token (a stolen cookie is no API key), it expires, and changing the token signs everyone out.
It is HttpOnly (no script reads it) and SameSite=Strict (no other site can send it), so the
browser's EventSource carries it and another site's form cannot. With authentication disabled,
which settings allow only on a loopback address, the console is open (demo mode).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from aiohttp import web

from bot.actions import Actor, Surface
from bot.keys import CLOCK, SETTINGS
from bot.settings import Settings, is_loopback

COOKIE = "nocbot_console"
COOKIE_PATH = "/console"
LIFETIME = timedelta(hours=12)
MAX_NAME = 64
DEMO_ACTOR = Actor(Surface.CONSOLE, "local", "console user")


def open_console(settings: Settings) -> bool:
    """Demo mode: no login (authentication disabled, which settings refuse off loopback)."""
    return settings.auth_disabled and is_loopback(settings.host)


def token_matches(settings: Settings, presented: str) -> bool:
    expected = settings.ingest_token or ""
    return bool(expected) and hmac.compare_digest(presented.strip().encode(), expected.encode())


def valid_name(name: str) -> str | None:
    cleaned = " ".join(name.split())
    return cleaned if 0 < len(cleaned) <= MAX_NAME and cleaned.isprintable() else None


def session_cookie(settings: Settings, name: str, now: datetime) -> str:
    expires = int((now + LIFETIME).timestamp())
    body = _b64(json.dumps({"n": name, "e": expires}, separators=(",", ":")).encode())
    return f"{body}.{_sign(settings, body)}"


def session_actor(settings: Settings, cookie: str | None, now: datetime) -> Actor | None:
    """Who a cookie signs in, or None if it is missing, forged, expired or from an old token."""
    if not cookie or len(cookie) > 1000 or not settings.ingest_token:
        return None
    body, _, signature = cookie.partition(".")
    if not hmac.compare_digest(signature.encode(), _sign(settings, body).encode()):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        name, expires = claims["n"], claims["e"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or not isinstance(expires, int) or expires <= now.timestamp():
        return None
    shown = valid_name(name)
    return Actor(Surface.CONSOLE, shown, shown) if shown else None


def request_actor(request: web.Request) -> Actor | None:
    settings = request.app[SETTINGS]
    if open_console(settings):
        return DEMO_ACTOR
    return session_actor(settings, request.cookies.get(COOKIE), request.app[CLOCK].now())


def set_session(response: web.StreamResponse, request: web.Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
    )


def clear_session(response: web.StreamResponse, request: web.Request) -> None:
    response.del_cookie(COOKIE, path=COOKIE_PATH, secure=_secure(request), httponly=True, samesite="Strict")


def _secure(request: web.Request) -> bool:
    public = request.app[SETTINGS].public_url or ""
    return request.secure or public.startswith("https://")


def _sign(settings: Settings, body: str) -> str:
    key = hashlib.sha256(b"nocbot console session\0" + (settings.ingest_token or "").encode()).digest()
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
