"""Per-series detector state, so a restart resumes without relearning every baseline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage.schema import alerts, detector_state
from engine.storage.upsert import insert_or_update


async def load_states(conn: AsyncConnection, series_ids: Sequence[int]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for start in range(0, len(series_ids), 1000):
        chunk = list(series_ids[start : start + 1000])
        rows = await conn.execute(
            select(detector_state.c.series_id, detector_state.c.state).where(
                detector_state.c.series_id.in_(chunk)
            )
        )
        found.update({int(row.series_id): bytes(row.state) for row in rows})
    return found


async def save_states(conn: AsyncConnection, states: Mapping[int, bytes], now: datetime) -> None:
    if not states:
        return
    statement = insert_or_update(conn, detector_state, ["series_id"], ["state", "updated_at"])
    await conn.execute(
        statement, [{"series_id": sid, "state": blob, "updated_at": now} for sid, blob in states.items()]
    )


async def firing_start(conn: AsyncConnection, fingerprint: str) -> datetime | None:
    """When the firing instance of a fingerprint started (to resolve the alert an episode raised)."""
    row = (
        await conn.execute(
            select(alerts.c.starts_at)
            .where(alerts.c.fingerprint == fingerprint, alerts.c.status == "firing")
            .order_by(alerts.c.starts_at.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else row.starts_at
