"""Alert instances: idempotent upsert of deliveries, and the read side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Row,
    SmallInteger,
    String,
    Text,
    and_,
    any_,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.models import Alert, AlertSource, AlertStatus, Severity
from engine.storage.records import AlertIngestResult, Page, StoredAlert
from engine.storage.schema import alerts, incident_alerts
from engine.storage.types import to_epoch_us
from engine.storage.upsert import insert_ignoring_conflicts


@dataclass(frozen=True, slots=True)
class AlertFilter:
    status: str | None = None
    service: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    incident_id: int | None = None
    limit: int = 100
    cursor: int | None = None  # return rows with id below this (newest first)


async def upsert_alerts(conn: AsyncConnection, batch: Sequence[Alert], now: datetime) -> AlertIngestResult:
    """Store deliveries: a new (fingerprint, starts_at) is inserted, a changed one updated, a repeat ignored.

    Alerts from the generic API carry no start time of their own when re-sent, so a firing one joins
    the instance of its fingerprint that is still firing instead of opening a second one.
    """
    deliveries = await _adopt_open_instances(conn, batch)
    existing = await _existing(conn, deliveries)
    ids: list[int] = []
    outcomes: list[str] = []
    to_insert: dict[tuple[str, int], dict[str, Any]] = {}
    to_update: dict[int, dict[str, Any]] = {}
    for alert in deliveries:
        key = (alert.fingerprint, to_epoch_us(alert.starts_at))
        row = existing.get(key)
        if row is None:
            row_values = _row(alert, now)
            earlier = to_insert.get(key)
            if earlier is None:
                outcomes.append("new")
            else:
                outcomes.append("duplicate" if _same_delivery(earlier, row_values) else "updated")
            to_insert[key] = row_values
            ids.append(-1)
            continue
        row_id = int(row.id)
        if _changed(row, alert) or row_id in to_update:
            to_update[row_id] = {"row_id": row_id, **_changes(alert, now)}
            outcomes.append("updated")
        else:
            outcomes.append("duplicate")
        ids.append(row_id)
    inserted = await _insert(conn, list(to_insert.values()))
    if to_update:
        await conn.execute(
            update(alerts).where(alerts.c.id == bindparam("row_id")),
            list(to_update.values()),
        )
    for index, alert in enumerate(deliveries):
        if ids[index] == -1:
            key = (alert.fingerprint, to_epoch_us(alert.starts_at))
            if key in inserted:
                ids[index] = inserted[key]
            else:
                # another replica inserted the same instance between our read and write
                raced = await _existing(conn, [alert])
                ids[index] = int(raced[key].id)
                outcomes[index] = "duplicate"
    return AlertIngestResult(ids=ids, outcomes=outcomes, alerts=deliveries)


async def list_alerts(conn: AsyncConnection, query: AlertFilter) -> Page[StoredAlert]:
    statement = (
        select(alerts, incident_alerts.c.incident_id)
        .outerjoin(incident_alerts, incident_alerts.c.alert_id == alerts.c.id)
        .order_by(alerts.c.id.desc())
        .limit(query.limit + 1)
    )
    conditions = []
    if query.status:
        conditions.append(alerts.c.status == query.status)
    if query.service:
        conditions.append(alerts.c.service == query.service)
    if query.since:
        conditions.append(alerts.c.starts_at >= query.since)
    if query.until:
        conditions.append(alerts.c.starts_at < query.until)
    if query.incident_id is not None:
        conditions.append(incident_alerts.c.incident_id == query.incident_id)
    if query.cursor is not None:
        conditions.append(alerts.c.id < query.cursor)
    if conditions:
        statement = statement.where(and_(*conditions))
    rows = (await conn.execute(statement)).all()
    items = [stored_alert(row) for row in rows[: query.limit]]
    next_cursor = items[-1].id if len(rows) > query.limit else None
    return Page(items=items, next_cursor=next_cursor)


def stored_alert(row: Row[Any]) -> StoredAlert:
    mapping = row._mapping
    return StoredAlert(
        id=int(mapping["id"]),
        alert=Alert(
            fingerprint=mapping["fingerprint"],
            name=mapping["name"],
            status=AlertStatus(mapping["status"]),
            severity=Severity(mapping["severity"]),
            labels=mapping["labels"],
            annotations=mapping["annotations"],
            starts_at=mapping["starts_at"],
            ends_at=mapping["ends_at"],
            source=AlertSource(mapping["source"]),
            generator_url=mapping["generator_url"],
        ),
        received_at=mapping["received_at"],
        updated_at=mapping["updated_at"],
        incident_id=mapping.get("incident_id"),
    )


async def _adopt_open_instances(conn: AsyncConnection, batch: Sequence[Alert]) -> list[Alert]:
    api_firing = {
        a.fingerprint for a in batch if a.source is AlertSource.API and a.status is AlertStatus.FIRING
    }
    if not api_firing:
        return list(batch)
    rows = await conn.execute(
        select(alerts.c.fingerprint, alerts.c.starts_at).where(
            alerts.c.fingerprint.in_(sorted(api_firing)), alerts.c.status == AlertStatus.FIRING.value
        )
    )
    open_start = {row.fingerprint: row.starts_at for row in rows}
    adopted = []
    for alert in batch:
        start = open_start.get(alert.fingerprint)
        if alert.source is AlertSource.API and alert.status is AlertStatus.FIRING and start is not None:
            alert = _with_start(alert, start)
        adopted.append(alert)
    return adopted


def _with_start(alert: Alert, start: datetime) -> Alert:
    return Alert(
        fingerprint=alert.fingerprint,
        name=alert.name,
        status=alert.status,
        severity=alert.severity,
        labels=alert.labels,
        annotations=alert.annotations,
        starts_at=start,
        ends_at=alert.ends_at,
        source=alert.source,
        generator_url=alert.generator_url,
    )


_EXISTING_COLUMNS = (
    alerts.c.id,
    alerts.c.fingerprint,
    alerts.c.starts_at,
    alerts.c.status,
    alerts.c.ends_at,
    alerts.c.annotations,
    alerts.c.severity,
)
# On PostgreSQL one array parameter keeps the statement identical for every batch, so it is
# prepared once; an IN list would be re-rendered and re-planned per batch size.
_EXISTING_POSTGRESQL = select(*_EXISTING_COLUMNS).where(
    alerts.c.fingerprint == any_(bindparam("fingerprints", type_=ARRAY(String)))
)


async def _existing(conn: AsyncConnection, batch: Sequence[Alert]) -> dict[tuple[str, int], Row[Any]]:
    fingerprints = sorted({a.fingerprint for a in batch})
    found: dict[tuple[str, int], Row[Any]] = {}
    # bounded chunks: SQLite allows 32,766 parameters
    for start in range(0, len(fingerprints), 1000):
        chunk = fingerprints[start : start + 1000]
        if conn.dialect.name == "postgresql":
            rows = await conn.execute(_EXISTING_POSTGRESQL, {"fingerprints": chunk})
        else:
            rows = await conn.execute(select(*_EXISTING_COLUMNS).where(alerts.c.fingerprint.in_(chunk)))
        for row in rows:
            found[(row.fingerprint, to_epoch_us(row.starts_at))] = row  # type: ignore[assignment]
    return found


_INSERT_POSTGRESQL = text(
    "INSERT INTO alerts (fingerprint, starts_at, ends_at, status, name, severity, source, service, labels, "
    "annotations, generator_url, received_at, updated_at) "
    "SELECT f, s, e, st, n, sev, src, svc, l::jsonb, a::jsonb, g, r, r "
    "FROM unnest(:f, :s, :e, :st, :n, :sev, :src, :svc, :l, :a, :g) "
    "AS t(f, s, e, st, n, sev, src, svc, l, a, g), "
    "(SELECT CAST(:r AS BIGINT) AS r) AS now "
    "ON CONFLICT (fingerprint, starts_at) DO NOTHING RETURNING id, fingerprint, starts_at"
).bindparams(
    bindparam("f", type_=ARRAY(String)),
    bindparam("s", type_=ARRAY(BigInteger)),
    bindparam("e", type_=ARRAY(BigInteger)),
    bindparam("st", type_=ARRAY(String)),
    bindparam("n", type_=ARRAY(String)),
    bindparam("sev", type_=ARRAY(SmallInteger)),
    bindparam("src", type_=ARRAY(String)),
    bindparam("svc", type_=ARRAY(String)),
    bindparam("l", type_=ARRAY(Text)),
    bindparam("a", type_=ARRAY(Text)),
    bindparam("g", type_=ARRAY(Text)),
)


async def _insert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    if not rows:
        return {}
    if conn.dialect.name == "postgresql":
        return await _insert_postgresql(conn, rows)
    statement = insert_ignoring_conflicts(conn, alerts, ["fingerprint", "starts_at"]).returning(
        alerts.c.id, alerts.c.fingerprint, alerts.c.starts_at
    )
    result = await conn.execute(statement, rows)
    return {(row.fingerprint, to_epoch_us(row.starts_at)): int(row.id) for row in result}


async def _insert_postgresql(conn: AsyncConnection, rows: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    # One statement of column arrays: no per-row rendering, prepared once, a single round trip.
    def us(moment: datetime | None) -> int | None:
        return None if moment is None else to_epoch_us(moment)

    params = {
        "f": [r["fingerprint"] for r in rows],
        "s": [us(r["starts_at"]) for r in rows],
        "e": [us(r["ends_at"]) for r in rows],
        "st": [r["status"] for r in rows],
        "n": [r["name"] for r in rows],
        "sev": [r["severity"] for r in rows],
        "src": [r["source"] for r in rows],
        "svc": [r["service"] for r in rows],
        "l": [orjson.dumps(r["labels"]).decode() for r in rows],
        "a": [orjson.dumps(r["annotations"]).decode() for r in rows],
        "g": [r["generator_url"] for r in rows],
        "r": us(rows[0]["received_at"]),
    }
    result = await conn.execute(_INSERT_POSTGRESQL, params)
    return {(row.fingerprint, int(row.starts_at)): int(row.id) for row in result}


def _changed(row: Row[Any], alert: Alert) -> bool:
    return bool(
        row.status != alert.status.value
        or row.ends_at != alert.ends_at
        or row.annotations != dict(alert.annotations)
        or row.severity != int(alert.severity)
    )


def _same_delivery(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a[k] == b[k] for k in ("status", "ends_at", "annotations", "severity"))


def _row(alert: Alert, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "status": alert.status.value,
        "name": alert.name,
        "severity": int(alert.severity),
        "source": alert.source.value,
        "service": alert.service,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url,
        "received_at": now,
        "updated_at": now,
    }


def _changes(alert: Alert, now: datetime) -> dict[str, Any]:
    return {
        "status": alert.status.value,
        "ends_at": alert.ends_at,
        "annotations": dict(alert.annotations),
        "severity": int(alert.severity),
        "updated_at": now,
    }
