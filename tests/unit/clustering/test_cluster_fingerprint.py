from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.clustering import label_fingerprint


def test_matches_alertmanager_for_the_prometheus_reference_labels() -> None:
    # Reference value from prometheus/common model tests: labelSetToFingerprint of this label set
    # is 5799056148416392346, printed by Alertmanager as 16 hex digits.
    labels = {"name": "garland, briggs", "fear": "love is not enough"}
    assert label_fingerprint(labels) == "507a62d79ee76c9a"


def test_empty_label_set_is_the_fnv_offset_basis() -> None:
    assert label_fingerprint({}) == "cbf29ce484222325"


def test_label_values_matter() -> None:
    one = label_fingerprint({"alertname": "A", "pod": "x-1"})
    assert one != label_fingerprint({"alertname": "A", "pod": "x-2"})


def test_name_value_boundary_is_part_of_the_hash() -> None:
    # Without the separator byte these two would hash the same bytes.
    assert label_fingerprint({"ab": "c"}) != label_fingerprint({"a": "bc"})


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=6))
def test_stable_whatever_the_label_order(labels: dict[str, str]) -> None:
    reordered = dict(reversed(list(labels.items())))
    fingerprint = label_fingerprint(labels)
    assert fingerprint == label_fingerprint(reordered)
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0
