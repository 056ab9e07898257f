"""Who clicked: a Slack user id turned into an `Actor` with a display name and user-group handles.

Permissions are granted to groups, so the groups must be current enough: names and memberships are
cached for a few minutes. When Slack cannot be asked, the actor keeps the name the payload carried
and no groups, so the action layer refuses what needs a group rather than allowing too much.

Scopes: users:read, usergroups:read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import Actor, Surface
from bot.slack.retry import diagnose

log = logging.getLogger("nocbot.slack")

CACHE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class _Cached:
    value: Any
    at: float


class SlackPeople:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._names: dict[str, _Cached] = {}
        self._groups: _Cached | None = None
        self._groups_lock = asyncio.Lock()

    async def actor(self, user_id: str, payload_name: str | None = None) -> Actor:
        name = await self._display_name(user_id) or payload_name or user_id
        memberships = await self._memberships()
        return Actor(Surface.SLACK, user_id, name, frozenset(memberships.get(user_id, ())))

    async def _display_name(self, user_id: str) -> str | None:
        cached = self._names.get(user_id)
        if cached is not None and self._fresh(cached):
            name: str | None = cached.value
            return name
        try:
            response = await self._client.users_info(user=user_id)
        except Exception as exc:
            if diagnose(exc) is None:
                raise
            log.warning("users.info failed", extra={"user": user_id, "error": str(exc)[:200]})
            return cached.value if cached is not None else None
        found = _best_name(response.get("user") or {})
        self._names[user_id] = _Cached(found, self._clock())
        return found

    async def _memberships(self) -> Mapping[str, frozenset[str]]:
        async with self._groups_lock:  # one listing at a time; the others use its result
            if self._groups is not None and self._fresh(self._groups):
                groups: Mapping[str, frozenset[str]] = self._groups.value
                return groups
            try:
                response = await self._client.usergroups_list(include_users=True)
            except Exception as exc:
                if diagnose(exc) is None:
                    raise
                log.warning("usergroups.list failed; acting without groups", extra={"error": str(exc)[:200]})
                return {}
            memberships = _memberships(response.get("usergroups") or [])
            self._groups = _Cached(memberships, self._clock())
            return memberships

    def _fresh(self, cached: _Cached) -> bool:
        return self._clock() - cached.at < self._cache_seconds


def _best_name(user: Mapping[str, Any]) -> str | None:
    profile = user.get("profile") or {}
    for candidate in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("real_name"),
        user.get("name"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def _memberships(usergroups: list[Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    members: dict[str, set[str]] = {}
    for group in usergroups:
        handle = group.get("handle")
        if not isinstance(handle, str) or group.get("date_delete"):
            continue
        for user_id in group.get("users") or []:
            members.setdefault(user_id, set()).add(handle)
    return {user_id: frozenset(handles) for user_id, handles in members.items()}
