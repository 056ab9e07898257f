"""The metric context as a small PNG: the series around the incident start, the expected band shaded.

Drawn straight onto a matplotlib figure on the Agg canvas, without an Axes: an Axes alone costs
about 40 ms to build and lay out (tick objects, autoscaling, title placement), several times more
than everything drawn here, and the picture must render in a few tens of milliseconds. Scaling
and ticks are therefore computed here. The x axis is minutes from the incident start, so the
picture reads the same in every time zone. No pyplot: no global figure state, safe from any thread.
"""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.ticker import MaxNLocator

from engine.enrichment.sections import Band, MetricContext, SeriesWindow

WIDTH_INCHES, HEIGHT_INCHES, DPI = 4.8, 1.8, 100
LEFT, BOTTOM, RIGHT, TOP = 0.11, 0.2, 0.98, 0.84  # plot area, in figure fractions
_LINE, _BAND, _START, _INK = "#1f5fae", "#cfe3f6", "#c0392b", "#555555"

Floats = npt.NDArray[np.float64]


def render_chart(
    window: SeriesWindow, *, incident_start: datetime, band: Band | None = None, title: str = ""
) -> bytes:
    """A PNG of `window` with the incident start marked and `band` shaded (when given)."""
    if not len(window):
        raise ValueError("no points to draw")
    start = incident_start.timestamp()
    minutes = _minutes(window.ts, start)
    values = np.asarray(window.values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("points must be finite numbers")
    x_range = (min(float(minutes.min()), -1.0), max(float(minutes.max()), 1.0))  # the start is always in view
    y_range = _value_range(values, band)

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    to_x = _scaler(x_range, LEFT, RIGHT)
    to_y = _scaler(y_range, BOTTOM, TOP)
    if band is not None and len(band.ts):
        band_x = to_x(_minutes(band.ts, start))
        outline = np.concatenate([band_x, band_x[::-1]])
        edge = np.concatenate([to_y(np.asarray(band.low)), to_y(np.asarray(band.high))[::-1]])
        figure.add_artist(
            Polygon(
                np.column_stack([outline, edge]),
                closed=True,
                facecolor=_BAND,
                edgecolor="none",
                transform=figure.transFigure,
            )
        )
    figure.add_artist(
        Line2D(to_x(minutes), to_y(values), color=_LINE, linewidth=1.2, transform=figure.transFigure)
    )
    start_x = float(to_x(np.array([0.0]))[0])
    figure.add_artist(
        Line2D(
            [start_x, start_x],
            [BOTTOM, TOP],
            color=_START,
            linestyle="--",
            linewidth=0.9,
            transform=figure.transFigure,
        )
    )
    _draw_axes(figure, x_range, y_range, to_x, to_y)
    figure.text(0.01, 0.97, title, fontsize=7, va="top")
    figure.text(RIGHT, 0.01, "minutes from incident start", fontsize=6, ha="right", va="bottom", color=_INK)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return out.getvalue()


def render_metric_context(context: MetricContext) -> bytes:
    return render_chart(
        context.window, incident_start=context.incident_start, band=context.band, title=series_title(context)
    )


def series_title(context: MetricContext) -> str:
    labels = ",".join(f'{key}="{value}"' for key, value in sorted(context.labels.items()))
    return f"{context.metric}{{{labels}}}"


def minute_ticks(low: float, high: float) -> list[float]:
    """At most about six ticks on whole 5, 10, 15, 30, 60 or 120 minute steps."""
    span = max(high - low, 1.0)
    step = next((s for s in (5.0, 10.0, 15.0, 30.0, 60.0) if span / s <= 6), 120.0)
    first = np.ceil(low / step) * step
    return [float(t) for t in np.arange(first, high + 1e-9, step)]


def compact_number(value: float) -> str:
    """Tick labels that fit a small picture: 1.2k, 3.4M, 0.05."""
    magnitude = abs(value)
    for threshold, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.3g}"


def _draw_axes(
    figure: Figure, x_range: tuple[float, float], y_range: tuple[float, float], to_x: _Scale, to_y: _Scale
) -> None:
    _ink(figure, [LEFT, RIGHT], [BOTTOM, BOTTOM])
    _ink(figure, [LEFT, LEFT], [BOTTOM, TOP])
    for tick in minute_ticks(*x_range):
        x = float(to_x(np.array([tick]))[0])
        _ink(figure, [x, x], [BOTTOM, BOTTOM - 0.025])
        figure.text(x, BOTTOM - 0.04, f"{tick:g}", fontsize=6, ha="center", va="top", color=_INK)
    for tick in MaxNLocator(3).tick_values(*y_range):
        if not y_range[0] <= tick <= y_range[1]:
            continue
        y = float(to_y(np.array([tick]))[0])
        _ink(figure, [LEFT, LEFT - 0.01], [y, y])
        figure.text(
            LEFT - 0.015, y, compact_number(float(tick)), fontsize=6, ha="right", va="center", color=_INK
        )


def _ink(figure: Figure, xs: list[float], ys: list[float]) -> None:
    figure.add_artist(Line2D(xs, ys, color=_INK, linewidth=0.6, transform=figure.transFigure))


class _Scale:
    """Maps data values linearly onto a stretch of the figure."""

    def __init__(self, data: tuple[float, float], figure: tuple[float, float]) -> None:
        self.low, self.high = data
        self.start, self.end = figure

    def __call__(self, values: Floats) -> Floats:
        fraction = (np.asarray(values, dtype=np.float64) - self.low) / (self.high - self.low)
        return self.start + fraction * (self.end - self.start)


def _scaler(data: tuple[float, float], start: float, end: float) -> _Scale:
    return _Scale(data, (start, end))


def _value_range(values: Floats, band: Band | None) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    if band is not None and len(band.ts):
        low, high = min(low, *band.low), max(high, *band.high)
    pad = (high - low) * 0.06 or max(abs(high) * 0.1, 1.0)  # a flat line still gets some room
    return low - pad, high + pad


def _minutes(ts: tuple[float, ...], start: float) -> Floats:
    return (np.asarray(ts, dtype=np.float64) - start) / 60.0
