"""The fast metrics-body decoder takes exactly what the general parser takes, and refuses the same way."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.models import PointBatch
from integrations.nocbot_api import parse_point_batch
from integrations.payload import PayloadError, loads_json
from integrations.point_body import KnownSeries, parse_point_body

_GOOD_TS = st.one_of(
    st.integers(0, 32_503_679_999),
    st.floats(0, 32_503_679_999, allow_nan=False),
    st.sampled_from(["2026-11-27T10:00:00Z", "2026-11-27T10:00:00.250+02:00", "2026-11-27 10:00:00"]),
)
_ANY_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=2),
)
_LABELS = st.dictionaries(
    st.sampled_from(["host", "service", "zone", "bad-name", ""]), st.sampled_from(["a", "b", "c"]), max_size=3
)


def _point(bad: bool) -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        "metric": st.sampled_from(["cpu", "latency_ms", "http:req.total"]),
        "labels": st.one_of(st.none(), _LABELS),
        "ts": _GOOD_TS,
        "value": st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False)),
    }
    if bad:
        fields = {name: st.one_of(strategy, _ANY_JSON) for name, strategy in fields.items()}
    return st.fixed_dictionaries({}, optional=fields) if bad else st.fixed_dictionaries(fields)


def _outcome(parse: Any) -> tuple[str, Any]:
    try:
        batch: PointBatch = parse()
    except PayloadError as error:
        return "refused", (error.field, error.message)
    series = [(ref.metric, ref.labels) for ref in batch.series]
    return "taken", (series, batch.series_index, batch.ts, batch.values)


@given(points=st.lists(_point(bad=False), max_size=30), wrapped=st.booleans())
@settings(max_examples=300, deadline=None)
def test_well_typed_bodies_give_what_the_general_parser_gives(
    points: list[dict[str, Any]], wrapped: bool
) -> None:
    document: Any = {"points": points} if wrapped else points
    body = orjson.dumps(document)
    fast = _outcome(lambda: parse_point_body(body, KnownSeries()))
    assert fast == _outcome(lambda: parse_point_batch(document))


@given(points=st.lists(st.one_of(_point(bad=True), _ANY_JSON), max_size=6), wrapped=st.booleans())
@settings(max_examples=500, deadline=None)
def test_any_body_is_taken_or_refused_exactly_as_the_general_parser_does(
    points: list[Any], wrapped: bool
) -> None:
    document: Any = {"points": points} if wrapped else points
    body = orjson.dumps(document)
    assert _outcome(lambda: parse_point_body(body, KnownSeries())) == _outcome(
        lambda: parse_point_batch(document)
    )


def test_a_series_validated_once_is_the_same_object_in_every_later_batch() -> None:
    known = KnownSeries()
    first = parse_point_body(b'[{"metric":"cpu","labels":{"host":"a","zone":"z"},"ts":1,"value":1}]', known)
    other_spelling = (
        b'[{"metric":"cpu","labels":{"zone":"z","host":"a"},"ts":2,"value":2},'
        b'{"metric":"cpu","labels":{"host":"a","zone":"z"},"ts":3,"value":3}]'
    )
    second = parse_point_body(other_spelling, known)
    assert second.series == first.series and second.series[0] is first.series[0]
    assert second.series_index == [0, 0]


def test_a_series_cached_before_is_still_checked_for_its_points() -> None:
    known = KnownSeries()
    parse_point_body(b'[{"metric":"cpu","ts":1,"value":1}]', known)
    with pytest.raises(PayloadError) as refused:
        parse_point_body(b'[{"metric":"cpu","ts":1,"value":1},{"metric":"cpu","ts":-5,"value":1}]', known)
    assert refused.value.field == "[1].ts"


def test_a_full_cache_starts_over_between_batches_only() -> None:
    known = KnownSeries(capacity=2)

    def body(hosts: range) -> bytes:
        points = [{"metric": "cpu", "labels": {"host": str(n)}, "ts": 1, "value": 1} for n in hosts]
        return orjson.dumps([*points, points[0]])  # the first series twice

    first = parse_point_body(body(range(5)), known)
    # over capacity within the batch: still one ref per series, the repeat pointing at the first
    assert len(first.series) == 5 and first.series_index[-1] == 0
    parse_point_body(body(range(10, 15)), known)
    assert {key[1] for key in known.as_sent} == {orjson.dumps({"host": str(n)}) for n in range(10, 15)}


@pytest.mark.parametrize(
    "body",
    [
        b'[{"metric":"m\xff","ts":1,"value":1}]',
        b'[{"metric":"m","ts":1,"value":1,"labels":' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}]",
        b'[{"metric":"m","ts":1,"value":1,"labels":{"a":"\xff"}}]',
        b'[{"metric":"m","ts":1,"value":1,"labels":{"a":1e400}}]',
        b'[{"metric":"m","ts":1,"value":1,"extra":1e400}]',
        b'{"points":[{"metric":"m","ts":1,"value":1}],"x":1e400}',
        b'[{"metric":"m","ts":1,"value":1,"unit":"s"}]',
        b'[{"metric":"m","ts":-1,"value":1},{"metric":"m","ts":1,"value":1,"labels":{"a":"\xff"}}]',
    ],
)
def test_bytes_the_fast_decoder_passes_through_are_judged_as_the_general_parser_does(body: bytes) -> None:
    """Bad UTF-8, deep nesting and unknown fields holding invalid JSON: a 400 naming the same field,
    or the same points, never another exception (a 500)."""
    assert _outcome(lambda: parse_point_body(body, KnownSeries())) == _outcome(
        lambda: parse_point_batch(loads_json(body))
    )
