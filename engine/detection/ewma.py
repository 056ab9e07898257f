"""Exponentially weighted averages that start as plain running means.

With a fixed weight an average initialised at zero is biased for its first ~span points; using
weight max(1/count, 2/(span+1)) makes it the running mean until the span is reached, then an EWMA.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def span_weight(span: int) -> float:
    return 2.0 / (span + 1.0)


def warm_weight(count: npt.NDArray[np.float64] | npt.NDArray[np.int64], span: int) -> npt.NDArray[np.float64]:
    """Weight for the next update when `count` updates were already folded in."""
    return np.maximum(1.0 / (np.asarray(count, dtype=np.float64) + 1.0), span_weight(span))
