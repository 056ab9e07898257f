"""Server-side SVG charts: hostile names stay text, gaps break lines, nothing styled inline."""

from __future__ import annotations

import re

from bot.console.svg import Series, bar_chart, line_chart, number_text
from tests.unit.rendering.factories import HOSTILE
from tests.unit.rendering.surfaces import parse

SVG_TAGS = {"svg", "title", "text", "line", "polyline", "circle", "rect"}


def check_safe(svg: str) -> None:
    page = parse(svg)
    assert {tag for tag, _ in page.tags} <= SVG_TAGS
    assert "<script" not in svg
    for _, attrs in page.tags:
        assert not any(name.startswith("on") or name == "style" for name in attrs)


def test_line_chart_escapes_names_and_breaks_lines_at_gaps() -> None:
    svg = line_chart(
        ["a", "b", "c", "d", "e"],
        [Series(HOSTILE, [1.0, 2.0, None, 4.0, 5.0]), Series("incidents", [0.0, 1.0, 1.0, 1.0, 0.0])],
        title=HOSTILE,
    )
    check_safe(svg)
    assert "&lt;script&gt;" in svg
    polylines = re.findall(r'<polyline class="line (series-\d)" points="([^"]+)"', svg)
    assert [css for css, _ in polylines] == ["series-0", "series-0", "series-1"]  # the gap splits series 0
    assert [len(points.split()) for _, points in polylines] == [2, 2, 5]
    assert svg.count("<circle") == 9  # each known value is a dot with its value on hover


def test_line_chart_scale_starts_at_zero_and_ends_on_a_round_number() -> None:
    svg = line_chart(["x", "y"], [Series("v", [3.0, 7.0])], title="t")
    axis = re.findall(r'<text class="axis"[^>]*text-anchor="end">([^<]+)</text>', svg)
    assert axis == ["0", "5", "10"]


def test_empty_data_says_so() -> None:
    for svg in (line_chart([], [Series("v", [])], title="t"), bar_chart([], title="t")):
        check_safe(svg)
        assert "no data" in svg


def test_bar_chart_lengths_follow_the_values() -> None:
    svg = bar_chart([(HOSTILE, 10.0), ("b", 5.0), ("nan", float("nan"))], title="noisiest")
    check_safe(svg)
    widths = [float(w) for w in re.findall(r'<rect class="bar series-0"[^>]* width="([\d.]+)"', svg)]
    assert len(widths) == 2 and widths[0] == 2 * widths[1]


def test_numbers_are_short() -> None:
    assert [number_text(v) for v in (0.25, 12.5, 1234.0, 12_345.0, 4_500_000.0, float("inf"))] == [
        "0.25",
        "12.5",
        "1,234",
        "12.3k",
        "4.5M",
        "—",
    ]
