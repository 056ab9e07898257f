"""The audit trail: who did what to which incident, from which surface."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage.schema import audit_log


async def audit(
    conn: AsyncConnection,
    *,
    at: datetime,
    actor: str,
    surface: str,
    action: str,
    incident_id: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        audit_log.insert().values(
            at=at, actor=actor, surface=surface, action=action, incident_id=incident_id, detail=detail or {}
        )
    )
