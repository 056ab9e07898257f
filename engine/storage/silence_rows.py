"""Silences and maintenance windows: label matchers with a start and an end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.clustering.silences import Matcher, Silence
from engine.storage.schema import silences


async def create_silence(conn: AsyncConnection, silence: Silence, now: datetime) -> int:
    result = await conn.execute(
        silences.insert()
        .values(
            matchers=[f"{m.name}{m.op.value}{m.value}" for m in silence.matchers],
            starts_at=silence.starts_at,
            ends_at=silence.ends_at,
            created_by=silence.created_by,
            comment=silence.comment,
            created_at=now,
        )
        .returning(silences.c.id)
    )
    return int(result.scalar_one())


async def current_silences(conn: AsyncConnection, now: datetime) -> list[Silence]:
    """Silences in force now or later (a scheduled maintenance window is loaded ahead)."""
    rows = await conn.execute(select(silences).where(silences.c.ends_at > now).order_by(silences.c.starts_at))
    return [
        Silence(
            id=str(row.id),
            matchers=tuple(Matcher.parse(text) for text in row.matchers),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            created_by=row.created_by,
            comment=row.comment,
        )
        for row in rows
    ]


async def expire_silence(conn: AsyncConnection, silence_id: int, now: datetime) -> bool:
    result = await conn.execute(
        update(silences).where(silences.c.id == silence_id, silences.c.ends_at > now).values(ends_at=now)
    )
    return bool(result.rowcount)
