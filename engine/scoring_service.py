"""Which priority scorer the service runs: the database's active model, else the shipped model file,
else the rules.

A model that exists but cannot be used raises `ModelLoadError` instead of falling back: the service
must refuse to start rather than hide a broken model behind plausible-looking priorities.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.scoring import PriorityScorer, XGBoostScorer, load_priority_scorer
from engine.storage.model_rows import load_active_model


async def load_active_scorer(
    conn: AsyncConnection, *, fallback_path: Path | None, batch_threads: int = 1
) -> PriorityScorer:
    """The scorer of the active model in the database; without one, `load_priority_scorer
    (fallback_path)` (usually `engine.scoring.DEFAULT_MODEL_PATH`), which falls back to the rules
    when that file does not exist either."""
    artifact = await load_active_model(conn)
    if artifact is not None:
        return XGBoostScorer(artifact, batch_threads=batch_threads)
    return load_priority_scorer(fallback_path, batch_threads=batch_threads)
