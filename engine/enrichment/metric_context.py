"""Section 5: the series that best shows the incident, around its start, with its expected band."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine.enrichment.sections import Absent, Band, MetricContext
from engine.enrichment.series import SeriesCandidate, baseline_band, choose_series, thin
from engine.enrichment.sparkline import sparkline


def metric_context(
    candidates: Sequence[SeriesCandidate],
    *,
    incident_start: datetime,
    searched: str,
    max_points: int,
    sparkline_width: int,
    band: Band | None = None,
) -> MetricContext | Absent:
    """`searched` names where series were looked for, for the note when none is found; `band`
    overrides the baseline band when the caller knows a better one (a detector's expectation)."""
    if not candidates:
        return Absent(f"no metric series found for {searched}")
    start = incident_start.timestamp()
    choice = choose_series(candidates, start)
    if choice is None:
        return Absent(f"no metric points around the start for the {len(candidates)} series of {searched}")
    chosen = choice.candidate
    return MetricContext(
        series_id=chosen.series_id,
        metric=chosen.ref.metric,
        labels=dict(chosen.ref.labels),
        incident_start=incident_start,
        window=thin(chosen.window, max_points),
        band=band if band is not None else baseline_band(chosen.window, start),
        sparkline=sparkline(chosen.window.values, sparkline_width),
        reason=choice.reason,
        deviation=None if choice.deviation is None else round(choice.deviation, 2),
        candidates=len(candidates),
    )
