"""From a corrected tail probability p to the 0..1 anomaly score, and back.

With d = -log10(p) "decades of rarity", score = d / (d + half_score_decades): 0 for the ordinary,
0.5 at `half_score_decades`, approaching 1 for the extreme, never saturating. Monotone, so
ranking-based evaluations (NAB's threshold sweep) do not depend on it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def score_from_decades(
    decades: npt.NDArray[np.float64], half_score_decades: float
) -> npt.NDArray[np.float64]:
    """`decades` = -log10 p >= 0."""
    score: npt.NDArray[np.float64] = decades / (decades + half_score_decades)
    return score


def probability_at_score(score: float, half_score_decades: float) -> float:
    """The corrected probability whose score is `score` (0 <= score < 1)."""
    decades = half_score_decades * score / (1.0 - score)
    return float(10.0**-decades)
