from __future__ import annotations

import math

import pytest

from engine.enrichment.metric_context import metric_context
from engine.enrichment.sections import Absent, MetricContext, SeriesWindow
from engine.enrichment.series import SeriesCandidate, baseline_band, choose_series, deviation, thin
from engine.enrichment.sparkline import BLOCKS, sparkline
from engine.models import SeriesRef
from tests.unit.enrichment.builders import T0

START = T0.timestamp()


def window(values_before: list[float], values_after: list[float], step: float = 60.0) -> SeriesWindow:
    values = [*values_before, *values_after]
    first = START - step * len(values_before)
    return SeriesWindow(tuple(first + step * i for i in range(len(values))), tuple(values))


def wiggle(n: int, level: float = 10.0) -> list[float]:
    return [level + 0.5 * math.sin(i) for i in range(n)]


def candidate(series_id: int, data: SeriesWindow, named_by: str | None = None) -> SeriesCandidate:
    return SeriesCandidate(
        series_id, SeriesRef(f"metric_{series_id}", {"service": "checkout"}), data, named_by
    )


def test_deviation_is_in_robust_sigmas_of_the_time_before() -> None:
    calm = window(wiggle(60), wiggle(10))
    spike = window(wiggle(60), [10.0, 40.0, 10.0])
    calm_deviation, spike_deviation = deviation(calm, START), deviation(spike, START)
    assert calm_deviation is not None and calm_deviation < 3
    assert spike_deviation is not None and spike_deviation > 30
    assert deviation(window(wiggle(3), [40.0]), START) is None  # too little history to judge


def test_the_series_that_moved_most_is_chosen_unless_an_alert_names_one() -> None:
    calm, spike = candidate(1, window(wiggle(60), wiggle(10))), candidate(2, window(wiggle(60), [10.0, 40.0]))
    choice = choose_series([calm, spike], START)
    assert choice is not None and choice.candidate.series_id == 2
    named = candidate(3, window(wiggle(60), wiggle(10)), named_by="CheckoutLatencyAnomaly")
    choice = choose_series([calm, spike, named], START)
    assert choice is not None and choice.candidate.series_id == 3
    assert choice.reason == "named by the alert CheckoutLatencyAnomaly"
    assert choose_series([candidate(4, SeriesWindow((), ()))], START) is None


def test_band_is_the_baseline_around_the_median() -> None:
    band = baseline_band(window([10.0] * 30, [50.0]), START)
    assert band is not None
    assert band.low[0] < 10.0 < band.high[0] < 50.0
    assert band.ts == (START - 30 * 60, START)
    assert baseline_band(window([10.0] * 3, [50.0]), START) is None


def test_thinning_keeps_spikes_and_order() -> None:
    data = window(wiggle(1000), [])
    values = list(data.values)
    values[517] = 99.0
    spiky = SeriesWindow(data.ts, tuple(values))
    thinned = thin(spiky, 100)
    assert len(thinned) <= 100
    assert 99.0 in thinned.values
    assert list(thinned.ts) == sorted(thinned.ts)
    assert thin(spiky, 5000) is spiky


def test_sparkline_shows_a_spike_between_the_extremes() -> None:
    line = sparkline([1.0] * 50 + [9.0] + [1.0] * 49, width=20)
    assert len(line) == 20
    assert line.count(BLOCKS[-1]) == 1 and set(line) == {BLOCKS[0], BLOCKS[-1]}
    assert sparkline([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], width=8) == BLOCKS


def test_sparkline_edge_cases() -> None:
    assert sparkline([]) == ""
    assert sparkline([float("nan"), 3.0, 3.0]) == BLOCKS[3] * 2  # flat: a mid-height line
    assert len(sparkline([1.0, 2.0], width=24)) == 2
    with pytest.raises(ValueError):
        sparkline([1.0], width=0)


def test_metric_context_from_the_chosen_series() -> None:
    spike = candidate(2, window(wiggle(60), [10.0, 40.0, 12.0]))
    result = metric_context(
        [candidate(1, window(wiggle(60), wiggle(3))), spike],
        incident_start=T0,
        searched="checkout",
        max_points=50,
        sparkline_width=12,
    )
    assert isinstance(result, MetricContext)
    assert (result.series_id, result.metric, result.labels, result.candidates) == (
        2,
        "metric_2",
        {"service": "checkout"},
        2,
    )
    assert result.band is not None and result.deviation is not None and result.deviation > 30
    assert len(result.window) <= 50 and 40.0 in result.window.values
    assert len(result.sparkline) == 12


def test_metric_context_absent_notes() -> None:
    options = {"incident_start": T0, "searched": "checkout", "max_points": 50, "sparkline_width": 12}
    assert metric_context([], **options) == Absent("no metric series found for checkout")  # type: ignore[arg-type]
    empty = [candidate(1, SeriesWindow((), ()))]
    assert metric_context(empty, **options) == Absent(  # type: ignore[arg-type]
        "no metric points around the start for the 1 series of checkout"
    )
