"""Where a chat surface can post without being spoken to first: one stored reference per conversation.

Teams lets a bot post into a channel only with what it learnt when it was added there (the service
URL, the conversation, the bot's own account). The surface stores that here, keyed by the
conversation's id, and reads it back when an incident is routed to the channel. The reference is
opaque to the store: each surface decides what it keeps in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage.schema import conversation_refs
from engine.storage.upsert import insert_or_update


@dataclass(frozen=True, slots=True)
class ConversationRef:
    surface: str
    channel: str
    reference: dict[str, Any]
    updated_at: datetime


async def save(
    conn: AsyncConnection, surface: str, channel: str, reference: dict[str, Any], now: datetime
) -> None:
    """Insert or replace the reference of `channel`."""
    await conn.execute(
        insert_or_update(conn, conversation_refs, ("surface", "channel"), ("reference", "updated_at")).values(
            surface=surface, channel=channel, reference=reference, updated_at=now
        )
    )


async def find(conn: AsyncConnection, surface: str, channel: str) -> ConversationRef | None:
    row = (
        (
            await conn.execute(
                select(conversation_refs).where(
                    conversation_refs.c.surface == surface, conversation_refs.c.channel == channel
                )
            )
        )
        .mappings()
        .first()
    )
    return _ref(row) if row is not None else None


async def all_of(conn: AsyncConnection, surface: str) -> list[ConversationRef]:
    """Every stored conversation of `surface` (a few per team: small enough to read whole)."""
    rows = (
        await conn.execute(
            select(conversation_refs)
            .where(conversation_refs.c.surface == surface)
            .order_by(conversation_refs.c.channel)
        )
    ).mappings()
    return [_ref(row) for row in rows]


async def remove(conn: AsyncConnection, surface: str, channel: str) -> bool:
    result = await conn.execute(
        delete(conversation_refs).where(
            conversation_refs.c.surface == surface, conversation_refs.c.channel == channel
        )
    )
    return bool(result.rowcount)


def _ref(row: Any) -> ConversationRef:
    return ConversationRef(
        surface=row["surface"],
        channel=row["channel"],
        reference=dict(row["reference"]),
        updated_at=row["updated_at"],
    )
