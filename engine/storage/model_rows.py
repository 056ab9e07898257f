"""Trained models in `model_versions`: saved as new versions, exactly one active per kind.

A row holds what `engine.scoring.write_model` puts in two files: the XGBoost UBJ bytes in `artifact`
and the metadata document (`model.json`) in `details`, so a model read back is checked exactly like
a model file (checksum, features, format) and a corrupt row fails with `ModelLoadError`.

Choosing and activating a model must happen under `lock_models`, in the transaction that activates
it: otherwise two trainings finishing together could each compare against the same active model
and both activate their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.scoring.artifact import ModelArtifact, artifact_from_bytes
from engine.storage.schema import model_versions

PRIORITY_MODEL = "priority"


class UnknownModelError(LookupError):
    """Asked to activate a version that is not stored."""


class DuplicateModelError(ValueError):
    """The version is already stored: the same model bytes, trained in the same second."""


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A stored version without its bytes (for listings)."""

    id: int
    kind: str
    version: str
    active: bool
    created_at: datetime
    metrics: dict[str, Any]
    """The holdout metrics recorded at training (`ClassificationMetrics.to_json()`)."""


async def lock_models(conn: AsyncConnection) -> None:
    """Serialize model activation until this transaction ends; call it first in the transaction.

    PostgreSQL: an EXCLUSIVE table lock blocks other writers (not readers); each later statement
    then sees what a transaction that held the lock before committed. SQLite: a write that matches
    nothing still takes the database's single write lock, and it must come before any read so
    that the reads belong to the locked transaction.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("LOCK TABLE model_versions IN EXCLUSIVE MODE"))
    else:
        await conn.execute(
            update(model_versions).where(model_versions.c.id.is_(None)).values(active=model_versions.c.active)
        )


async def save_model(conn: AsyncConnection, artifact: ModelArtifact, *, kind: str = PRIORITY_MODEL) -> int:
    """Store `artifact` as a new, inactive version of `kind`; returns the row id. Raises
    `DuplicateModelError` when that version is stored already (checked first, so that PostgreSQL
    does not abort the caller's transaction on the unique constraint)."""
    metadata = artifact.metadata
    if await _version_exists(conn, kind, metadata.model_version):
        raise DuplicateModelError(f"{kind} model {metadata.model_version} is already stored")
    result = await conn.execute(
        model_versions.insert().values(
            kind=kind,
            version=metadata.model_version,
            active=False,
            metrics=metadata.holdout_metrics.to_json(),
            details=metadata.to_json(),
            artifact=artifact.ubj,
            created_at=metadata.created_at,
        )
    )
    primary_key = result.inserted_primary_key
    assert primary_key is not None  # a single-row insert always reports its key
    return int(primary_key[0])


async def model_id_of(conn: AsyncConnection, version: str, *, kind: str = PRIORITY_MODEL) -> int | None:
    found = await conn.execute(
        select(model_versions.c.id).where(model_versions.c.kind == kind, model_versions.c.version == version)
    )
    row = found.first()
    return None if row is None else int(row.id)


async def _version_exists(conn: AsyncConnection, kind: str, version: str) -> bool:
    return await model_id_of(conn, version, kind=kind) is not None


async def activate_model(conn: AsyncConnection, version: str, *, kind: str = PRIORITY_MODEL) -> None:
    """Make `version` the one active model of `kind`; raises `UnknownModelError` if it is not stored
    (the caller's transaction should then roll back, leaving the previous model active)."""
    await conn.execute(
        update(model_versions)
        .where(model_versions.c.kind == kind, model_versions.c.active.is_(True))
        .values(active=False)
    )
    result = await conn.execute(
        update(model_versions)
        .where(model_versions.c.kind == kind, model_versions.c.version == version)
        .values(active=True)
    )
    if result.rowcount != 1:
        raise UnknownModelError(f"no stored {kind} model has version {version!r}")


async def load_active_model(conn: AsyncConnection, *, kind: str = PRIORITY_MODEL) -> ModelArtifact | None:
    """The active model of `kind`, checked; None when none is active. Raises `ModelLoadError` when
    the stored model is unusable (corrupt bytes, other features, unknown format)."""
    row = await active_model_row(conn, kind)
    if row is None:
        return None
    return artifact_from_bytes(
        bytes(row.artifact),
        json.dumps(row.details).encode("utf-8"),
        source=f"database {kind} model {row.version}",
    )


async def active_model_row(conn: AsyncConnection, kind: str) -> Row[Any, Any, Any, Any] | None:
    """The active row of `kind` (version, artifact, details, metrics), or None."""
    return (
        await conn.execute(
            select(
                model_versions.c.version,
                model_versions.c.artifact,
                model_versions.c.details,
                model_versions.c.metrics,
            )
            .where(model_versions.c.kind == kind, model_versions.c.active.is_(True))
            # activate_model keeps one active row; the newest wins should a writer bypass it
            .order_by(model_versions.c.id.desc())
            .limit(1)
        )
    ).first()


async def active_version(conn: AsyncConnection, *, kind: str = PRIORITY_MODEL) -> str | None:
    version = (
        await conn.execute(
            select(model_versions.c.version)
            .where(model_versions.c.kind == kind, model_versions.c.active.is_(True))
            .order_by(model_versions.c.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return None if version is None else str(version)


async def list_models(conn: AsyncConnection, *, kind: str = PRIORITY_MODEL) -> list[StoredModel]:
    """Every stored version of `kind`, oldest first."""
    rows = await conn.execute(
        select(
            model_versions.c.id,
            model_versions.c.kind,
            model_versions.c.version,
            model_versions.c.active,
            model_versions.c.created_at,
            model_versions.c.metrics,
        )
        .where(model_versions.c.kind == kind)
        .order_by(model_versions.c.id)
    )
    return [
        StoredModel(
            id=int(row.id),
            kind=row.kind,
            version=row.version,
            active=bool(row.active),
            created_at=row.created_at,
            metrics=dict(row.metrics),
        )
        for row in rows
    ]
