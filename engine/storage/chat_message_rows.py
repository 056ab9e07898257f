"""Which chat message shows which incident: one card per incident and surface, updated in place.

A post is recorded in two steps so that a crash between them is detectable: `begin_post` (before
the API call, committed) leaves a row without a message id and with the time the attempt began;
`record_posted` fills the id in. A deliverer that finds a row begun but not finished asks the
surface whether the post landed (Slack: the idempotency key in message metadata) before posting
again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage.schema import chat_messages
from engine.storage.upsert import dialect_insert


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: int
    incident_id: int
    surface: str
    channel: str
    message_id: str | None
    thread_id: str | None
    shown_version: int
    posted_at: datetime | None
    updated_at: datetime | None

    @property
    def posted(self) -> bool:
        return self.message_id is not None


async def find(conn: AsyncConnection, incident_id: int, surface: str) -> ChatMessage | None:
    row = (
        (
            await conn.execute(
                select(chat_messages)
                .where(chat_messages.c.incident_id == incident_id, chat_messages.c.surface == surface)
                .order_by(chat_messages.c.id)
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    return ChatMessage(**row) if row is not None else None


async def find_by_message(
    conn: AsyncConnection, surface: str, channel: str, message_id: str
) -> ChatMessage | None:
    row = (
        (
            await conn.execute(
                select(chat_messages).where(
                    chat_messages.c.surface == surface,
                    chat_messages.c.channel == channel,
                    chat_messages.c.message_id == message_id,
                )
            )
        )
        .mappings()
        .first()
    )
    return ChatMessage(**row) if row is not None else None


async def begin_post(
    conn: AsyncConnection, incident_id: int, surface: str, channel: str, now: datetime
) -> None:
    await conn.execute(
        dialect_insert(conn, chat_messages)
        .values(incident_id=incident_id, surface=surface, channel=channel, shown_version=0, posted_at=now)
        .on_conflict_do_nothing(index_elements=["incident_id", "surface", "channel"])
    )


async def record_posted(
    conn: AsyncConnection,
    incident_id: int,
    surface: str,
    channel: str,
    *,
    message_id: str,
    thread_id: str | None,
    shown_version: int,
    now: datetime,
    posted_channel: str | None = None,
) -> None:
    """`channel` is the one given to `begin_post`; `posted_channel` is where the surface says the
    message went when it names it differently (Slack: #name posted, channel id returned)."""
    await conn.execute(
        update(chat_messages)
        .where(
            chat_messages.c.incident_id == incident_id,
            chat_messages.c.surface == surface,
            chat_messages.c.channel == channel,
        )
        .values(
            message_id=message_id,
            thread_id=thread_id,
            shown_version=shown_version,
            updated_at=now,
            channel=posted_channel or channel,
        )
    )


async def record_updated(
    conn: AsyncConnection, message: ChatMessage, shown_version: int, now: datetime
) -> None:
    await conn.execute(
        update(chat_messages)
        .where(chat_messages.c.id == message.id)
        .values(shown_version=shown_version, updated_at=now)
    )
