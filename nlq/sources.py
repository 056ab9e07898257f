"""Reading what a question needs from the database: the vocabulary and the rollup watermarks."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage.schema import incidents, metric_series, services
from nlq.vocabulary import Vocabulary


async def load_vocabulary(conn: AsyncConnection, synonyms: Mapping[str, str] | None = None) -> Vocabulary:
    """Metric names and label values of every series, plus the services incidents and the catalog name."""
    metrics: set[str] = set()
    labels: dict[str, set[str]] = {}
    for metric, series_labels in await conn.execute(select(metric_series.c.metric, metric_series.c.labels)):
        metrics.add(metric)
        for key, value in (series_labels or {}).items():
            if isinstance(value, str):
                labels.setdefault(key, set()).add(value)
    service_names = labels.setdefault("service", set())
    found = await conn.execute(select(incidents.c.service).where(incidents.c.service.is_not(None)).distinct())
    service_names.update(name for (name,) in found)
    service_names.update(name for (name,) in await conn.execute(select(services.c.name)))
    return Vocabulary.build(metrics, labels, synonyms)
