from __future__ import annotations

import struct
import zlib

import pytest

from engine.enrichment.chart import (
    DPI,
    HEIGHT_INCHES,
    WIDTH_INCHES,
    compact_number,
    minute_ticks,
    render_chart,
)
from engine.enrichment.sections import Band, SeriesWindow
from tests.unit.enrichment.builders import T0

START = T0.timestamp()
WINDOW = SeriesWindow(
    tuple(START - 3600 + 60 * i for i in range(90)), tuple(10.0 if i < 60 else 30.0 for i in range(90))
)
BAND = Band((START - 3600, START + 1800), (8.0, 8.0), (12.0, 12.0), "test")


def pixels(png: bytes) -> bytes:
    """The decompressed image data (the IDAT chunks), to compare what was drawn."""
    data, position = b"", 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        if kind == b"IDAT":
            data += png[position + 8 : position + 8 + length]
        position += 12 + length
    return zlib.decompress(data)


def test_renders_a_png_of_the_configured_size() -> None:
    png = render_chart(WINDOW, incident_start=T0, band=BAND, title='errors{service="checkout"}')
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (round(WIDTH_INCHES * DPI), round(HEIGHT_INCHES * DPI))


def test_the_band_and_the_series_are_drawn() -> None:
    with_band = pixels(render_chart(WINDOW, incident_start=T0, band=BAND))
    without = pixels(render_chart(WINDOW, incident_start=T0))
    other_series = pixels(
        render_chart(SeriesWindow(WINDOW.ts, tuple(reversed(WINDOW.values))), incident_start=T0)
    )
    assert with_band != without
    assert other_series != without


def test_a_flat_or_single_point_series_still_renders() -> None:
    assert render_chart(SeriesWindow((START,), (5.0,)), incident_start=T0).startswith(b"\x89PNG")
    assert render_chart(SeriesWindow((START, START + 60), (0.0, 0.0)), incident_start=T0).startswith(
        b"\x89PNG"
    )


def test_nothing_to_draw_is_an_error() -> None:
    with pytest.raises(ValueError):
        render_chart(SeriesWindow((), ()), incident_start=T0)
    with pytest.raises(ValueError):
        render_chart(SeriesWindow((START,), (float("nan"),)), incident_start=T0)


def test_ticks_and_labels() -> None:
    assert minute_ticks(-60, 30) == [-60, -45, -30, -15, 0, 15, 30]
    assert minute_ticks(-60, 0)[-1] == 0
    assert len(minute_ticks(-600, 60)) <= 6
    assert [compact_number(v) for v in (0.05, 12.5, 1234.0, 3_400_000.0)] == ["0.05", "12.5", "1.23k", "3.4M"]
