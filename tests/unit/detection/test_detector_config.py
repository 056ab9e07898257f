"""Configuration checks and the score scale."""

from __future__ import annotations

import numpy as np
import pytest

from engine.detection.calibration import probability_at_score, score_from_decades
from engine.detection.config import DetectorConfig


@pytest.mark.parametrize(
    "changes",
    [{"level_span": 0}, {"alert_score": 0.2, "clear_score": 0.3}, {"tail_edge_ratio": 1.0}, {"day_bins": -1}],
)
def test_nonsense_configuration_is_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DetectorConfig(**changes)  # type: ignore[arg-type]


def test_score_is_monotone_in_rarity_and_inverts() -> None:
    decades = np.array([0.0, 0.5, 1.2, 3.0, 30.0])
    scores = score_from_decades(decades, 1.2)
    assert scores[0] == 0.0 and scores[2] == pytest.approx(0.5)
    assert np.all(np.diff(scores) > 0) and scores[-1] < 1.0
    assert probability_at_score(0.5, 1.2) == pytest.approx(10**-1.2)
