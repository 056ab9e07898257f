from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.enrichment import Absent, ChangeItem, Enrichment, RecentChanges, stored_enrichment
from engine.enrichment.codec import EncodingError, decode, encode
from engine.models import Priority
from tests.unit.enrichment.samples import full_enrichment, later


def test_every_section_round_trips_through_json_text() -> None:
    enrichment = full_enrichment()
    document = json.loads(json.dumps(enrichment.to_json()))
    assert Enrichment.from_json(document) == enrichment
    assert document["format"] == 1
    assert document["related_alerts"]["available"] is True
    assert document["recent_changes"]["items"][0]["who"] == "alice"
    assert document["recent_changes"]["items"][0]["at"] == "2026-11-22T09:50:00+00:00"


def test_absent_sections_keep_their_note() -> None:
    enrichment = dataclasses.replace(
        full_enrichment(), affected_services=Absent("no service catalog configured")
    )
    document = enrichment.to_json()
    assert document["affected_services"] == {"available": False, "note": "no service catalog configured"}
    restored = Enrichment.from_json(document)
    assert restored == enrichment
    assert restored.notes() == {"affected_services": "no service catalog configured"}


def test_damaged_or_foreign_documents_are_refused_with_the_place() -> None:
    document = full_enrichment().to_json()
    document["recent_changes"]["items"][0]["minutes_before_start"] = "ten"
    with pytest.raises(EncodingError, match=r"\$\.recent_changes\.items\[0\]\.minutes_before_start"):
        Enrichment.from_json(document)
    with pytest.raises(EncodingError, match="format"):
        Enrichment.from_json({"format": 99})
    assert stored_enrichment({}) is None  # a new incident's column, or imported history
    assert stored_enrichment({"format": 99}) is None  # written by another version: recompute


def test_non_finite_numbers_are_refused_before_they_reach_the_database() -> None:
    enrichment = dataclasses.replace(
        full_enrichment(),
        recent_changes=RecentChanges(
            since=datetime(2026, 1, 1, tzinfo=UTC),
            until=datetime(2026, 1, 1, tzinfo=UTC),
            services=("a",),
            items=(
                ChangeItem(
                    "a", "deploy", "x", "y", datetime(2026, 1, 1, tzinfo=UTC), "affected", float("nan")
                ),
            ),
            more=False,
        ),
    )
    with pytest.raises(EncodingError, match="non-finite"):
        enrichment.to_json()


def test_same_content_ignores_only_when_it_was_computed() -> None:
    enrichment = full_enrichment()
    assert later(enrichment).same_content(enrichment)
    assert not dataclasses.replace(enrichment, alert_count=3).same_content(enrichment)


def test_similar_incidents_for_scoring() -> None:
    (past,) = full_enrichment().similar_past_incidents()
    assert (past.id, past.priority, past.resolution) == ("7", Priority.P2, "rolled back")
    assert past.resolved_at is not None and (past.resolved_at - past.opened_at).total_seconds() == 1800
    assert (
        dataclasses.replace(full_enrichment(), similar_incidents=Absent("x")).similar_past_incidents() == ()
    )


@given(
    text=st.text(),
    number=st.floats(allow_nan=False, allow_infinity=False),
    moment=st.datetimes(timezones=st.just(UTC)),
)
def test_any_text_number_and_time_round_trips(text: str, number: float, moment: datetime) -> None:
    item = ChangeItem(text, text, text, text, moment, text, number)
    assert decode(ChangeItem, json.loads(json.dumps(encode(item)))) == item
