"""A series as one line of block characters, for surfaces that cannot show a picture."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """`width` characters (fewer when there are fewer values) scaled from the minimum to the maximum.

    Each character stands for a stretch of values and shows the one furthest from the median, so a
    short spike is not averaged away.
    """
    if width < 1:
        raise ValueError("a sparkline needs a width of at least 1")
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if not len(data):
        return ""
    median = float(np.median(data))
    picked = []
    for stretch in np.array_split(data, min(width, len(data))):
        picked.append(float(stretch[np.argmax(np.abs(stretch - median))]))
    low, high = min(picked), max(picked)
    if high == low:
        return BLOCKS[len(BLOCKS) // 2 - 1] * len(picked)
    scale = (len(BLOCKS) - 1) / (high - low)
    return "".join(BLOCKS[round((value - low) * scale)] for value in picked)
