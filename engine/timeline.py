"""An incident's timeline, and the chat threads that mirror it.

Whoever changes an incident in a way responders should read about (an acknowledgement, a playbook
step, an escalation, PagerDuty saying someone took it) calls `Timeline.note` inside the transaction
that makes the change. The entry is stored in `incident_events` and, in the same transaction, queued
in the outbox as a reply in the card's thread on every chat surface, and the card is queued for a
redraw. Nothing is sent from here: `engine.outbox.OutboxWorker` delivers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage import incident_rows, outbox_rows

CARD = "card"
REPLY = "reply"


def card_key(surface: str, incident_id: int) -> str:
    return f"card:{surface}:{incident_id}"


class StatusFollower(Protocol):
    """Something outside that mirrors an incident's status (PagerDuty): told inside the transaction
    that acknowledges or resolves, so that what it queues lands with the change."""

    async def follow(self, conn: AsyncConnection, incident_id: int, status: str, now: datetime) -> None: ...


class Timeline:
    """`surfaces` are the chat surfaces that show cards ("slack", "teams"); with none, entries are
    only stored (the REST API and the console read them from there)."""

    def __init__(self, surfaces: Sequence[str] = (), followers: Sequence[StatusFollower] = ()) -> None:
        self.surfaces = tuple(surfaces)
        self.followers = list(followers)

    async def status_changed(
        self, conn: AsyncConnection, incident_ids: Iterable[int], status: str, now: datetime
    ) -> None:
        """`status` is "acknowledged" or "resolved"."""
        for incident_id in sorted(set(incident_ids)):
            for follower in self.followers:
                await follower.follow(conn, incident_id, status, now)

    async def note(
        self,
        conn: AsyncConnection,
        incident_id: int,
        *,
        kind: str,
        text: str,
        now: datetime,
        actor: str | None = None,
        detail: dict[str, Any] | None = None,
        redraw: bool = True,
    ) -> None:
        await incident_rows.add_events(
            conn, [incident_rows.EventRow(incident_id, kind, text, actor, detail)], now
        )
        if redraw:
            # the card first: a reply needs the card's message to thread under
            await self.redraw(conn, [incident_id], now)
        entry = uuid.uuid4().hex  # one delivery per entry, even if the same text is noted twice
        for surface in self.surfaces:
            await outbox_rows.enqueue(
                conn,
                destination=surface,
                kind=REPLY,
                key=f"reply:{surface}:{incident_id}:{entry}",
                payload={"incident": incident_id, "text": text, "kind": kind, "detail": detail or {}},
                incident_id=incident_id,
                now=now,
            )

    async def redraw(self, conn: AsyncConnection, incident_ids: Iterable[int], now: datetime) -> None:
        """Queue the cards of these incidents to be posted (first time) or updated to their state."""
        for incident_id in sorted(set(incident_ids)):
            for surface in self.surfaces:
                await outbox_rows.enqueue(
                    conn,
                    destination=surface,
                    kind=CARD,
                    key=card_key(surface, incident_id),
                    payload={"incident": incident_id},
                    incident_id=incident_id,
                    now=now,
                    replace=True,
                )
