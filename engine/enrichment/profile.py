"""What an incident is about, in the terms similarity compares: words, services, labels.

Each enrichment stores the incident's profile, so that a later incident compares labels with it
without reading its alerts again; imported history has no alerts and gets a profile from its title
and service alone.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.enrichment.tokens import label_value, words
from engine.models import Alert

MAX_WORDS = 64
MAX_LABELS = 48

# Labels naming one replica, one request or one series bucket: two occurrences of the same problem
# differ there, so sharing them (or not) says nothing.
# fmt: off
VOLATILE_LABELS = frozenset(
    {"alertname", "service",  # compared on their own (words, services)
     "pod", "pod_name", "container_id", "instance", "uid", "uuid", "id", "request_id", "trace_id",
     "fingerprint", "le", "quantile", "endpoint", "ip", "address"}
)
# fmt: on


@dataclass(frozen=True, slots=True)
class IncidentProfile:
    words: tuple[str, ...]  # distinct, sorted
    services: tuple[str, ...]  # distinct, sorted
    labels: tuple[str, ...]  # distinct "key=value" with values normalized, sorted


def profile_of(title: str, services: Iterable[str], alerts: Sequence[Alert] = ()) -> IncidentProfile:
    if not alerts:
        return title_profile(title, tuple(sorted({s for s in services if s})))
    # the title first: when the cap bites, what the incident is called matters most
    vocabulary = dict.fromkeys(words(title))
    for name in sorted({alert.name for alert in alerts}):
        vocabulary.update(dict.fromkeys(words(name)))
    return IncidentProfile(
        words=tuple(sorted(list(vocabulary)[:MAX_WORDS])),
        services=tuple(sorted({s for s in services if s})),
        labels=_common_labels(alerts),
    )


@functools.lru_cache(maxsize=65_536)
def title_profile(title: str, services: tuple[str, ...]) -> IncidentProfile:
    """The profile of an incident known only by its title and services (imported history).

    Cached: every enrichment ranks a sample of the same history, thousands of rows at a time.
    """
    return IncidentProfile(
        words=tuple(sorted(list(dict.fromkeys(words(title)))[:MAX_WORDS])), services=services, labels=()
    )


def _common_labels(alerts: Sequence[Alert]) -> tuple[str, ...]:
    counts: Counter[str] = Counter()
    for alert in alerts:
        pairs = set()
        for key, value in alert.labels.items():
            if key in VOLATILE_LABELS or key.startswith("__"):
                continue
            normalized = label_value(value)
            if normalized is not None:
                pairs.add(f"{key}={normalized}")
        counts.update(pairs)
    # the labels most alerts share describe the incident; rare ones describe single alerts
    ranked = sorted(counts, key=lambda pair: (-counts[pair], pair))[:MAX_LABELS]
    return tuple(sorted(ranked))
