"""Charts as inline SVG, drawn on the server: no JavaScript library, nothing fetched from elsewhere.

Colours come from the console's stylesheet through the `series-N` classes (no inline styles, so the
Content-Security-Policy can forbid them). Every label is escaped: metric and service names come from
alerts, which anyone with the ingest token can send.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from engine.view import clip

PALETTE_SIZE = 6  # series-0 … series-5 in console.css; more series reuse the colours
MAX_SERIES = 8
MAX_BARS = 30
MAX_X_LABELS = 8
DOTS_UP_TO = 60  # points drawn as dots (with a hover title) when a series is this short
LABEL_CHARS = 28

_TOP, _BOTTOM, _LEFT, _RIGHT = 28, 34, 56, 12


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per x label; None is a gap


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 240,
) -> str:
    """Lines over shared x labels (days, hours), y from zero (or the lowest value, if negative)."""
    shown = list(series[:MAX_SERIES])
    finite = [v for s in shown for v in s.values if v is not None and math.isfinite(v)]
    low, high = _range(finite)
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    count = max(len(labels), 1)

    def x(index: int) -> float:
        return _LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y(value: float) -> float:
        return _TOP + plot_h * (1 - (value - low) / (high - low))

    parts = [_open(width, height, title), *_grid(low, high, y, width, unit)]
    step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for index in range(0, len(labels), step):
        parts.append(
            f'<text class="axis" x="{x(index):.1f}" y="{height - 12}" text-anchor="middle">'
            f"{_e(labels[index], 16)}</text>"
        )
    for number, line in enumerate(shown):
        css = f"series-{number % PALETTE_SIZE}"
        for run in _runs(line.values):
            points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in run)
            if len(run) > 1:
                parts.append(f'<polyline class="line {css}" points="{points}"/>')
            elif len(line.values) > DOTS_UP_TO:  # a lone point between gaps, not dotted below
                (at, value), *_ = run
                parts.append(f'<circle class="dot {css}" cx="{x(at):.1f}" cy="{y(value):.1f}" r="2.5"/>')
        if len(line.values) <= DOTS_UP_TO:
            for at, maybe in enumerate(line.values):
                if maybe is None or not math.isfinite(maybe) or at >= len(labels):
                    continue
                tip = f"{line.name} · {labels[at]}: {number_text(maybe)}{unit}"
                parts.append(
                    f'<circle class="dot {css}" cx="{x(at):.1f}" cy="{y(maybe):.1f}" r="2.5">'
                    f"<title>{_e(tip, 200)}</title></circle>"
                )
    parts.extend(_legend([s.name for s in shown], width))
    if not finite:
        parts.append(_empty(width, height))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str, unit: str = "", width: int = 640) -> str:
    """Horizontal bars, longest first as given; for rankings (noisiest alerts, top hosts)."""
    shown = [(label, value) for label, value in bars[:MAX_BARS] if math.isfinite(value)]
    row, label_w = 22, 200
    height = _TOP + row * max(len(shown), 1) + 8
    top = max((abs(v) for _, v in shown), default=0.0) or 1.0
    plot_w = width - label_w - 70
    parts = [_open(width, height, title)]
    for index, (label, value) in enumerate(shown):
        y = _TOP + index * row
        length = max(plot_w * abs(value) / top, 1.0)
        parts.append(
            f'<text class="label" x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(label, LABEL_CHARS)}'
            f"<title>{_e(label, 200)}</title></text>"
            f'<rect class="bar series-0" x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 6}">'
            f"<title>{_e(label, 200)}: {number_text(value)}{_e(unit, 20)}</title></rect>"
            f'<text class="value" x="{label_w + length + 4:.1f}" y="{y + 15}">'
            f"{number_text(value)}{_e(unit, 20)}</text>"
        )
    if not shown:
        parts.append(_empty(width, height))
    parts.append("</svg>")
    return "".join(parts)


def number_text(value: float) -> str:
    """Short and readable: 0.25, 12.5, 1,234, 12.3k, 4.5M."""
    if not math.isfinite(value):
        return "—"
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.1f}M"
    if size >= 1e4:
        return f"{value / 1e3:.1f}k"
    if size >= 100 or value == int(value):
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(title, 200)}">'
        f"<title>{_e(title, 200)}</title>"
        f'<text class="title" x="{_LEFT}" y="16">{_e(title, 80)}</text>'
    )


def _grid(low: float, high: float, y: Callable[[float], float], width: int, unit: str) -> list[str]:
    parts = []
    for fraction in (0.0, 0.5, 1.0):
        value = low + (high - low) * fraction
        at = y(value)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>'
            f'<text class="axis" x="{_LEFT - 6}" y="{at + 4:.1f}" text-anchor="end">'
            f"{number_text(value)}{_e(unit, 20)}</text>"
        )
    return parts


def _legend(names: Sequence[str], width: int) -> list[str]:
    if len(names) < 2:
        return []
    parts, x = [], width - _RIGHT
    for number in reversed(range(len(names))):
        name = clip(names[number], 20)
        x -= 14 + 7 * len(name)
        parts.append(
            f'<rect class="swatch series-{number % PALETTE_SIZE}" x="{x}" y="7" width="10" height="10"/>'
            f'<text class="legend" x="{x + 13}" y="16">{escape(name)}</text>'
        )
    return parts


def _empty(width: int, height: int) -> str:
    return f'<text class="empty" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">no data</text>'


def _range(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 1.0
    low, high = min(min(values), 0.0), max(values)
    if high <= low:
        high = low + 1.0
    return low, _nice(high) if low == 0 else high


def _nice(value: float) -> float:
    """The next round number at or above `value` (1, 2, 2.5, 5 × a power of ten)."""
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Stretches without gaps: a missing value breaks the line instead of drawing through it."""
    runs: list[list[tuple[int, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None or not math.isfinite(value):
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((index, value))
    return [run for run in runs if run]


def _e(text: str, limit: int) -> str:
    return escape(clip(text, limit), quote=True)
