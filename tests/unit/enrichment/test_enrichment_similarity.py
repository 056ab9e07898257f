from __future__ import annotations

import pytest

from engine.catalog import Catalog
from engine.enrichment.config import EnrichmentConfig, SimilarityWeights
from engine.enrichment.profile import IncidentProfile, profile_of
from engine.enrichment.sections import Absent, SimilarIncidents
from engine.enrichment.similar import NO_HISTORY, similar_incidents
from engine.enrichment.similarity import HistoryEntry, Match, rank_similar
from engine.enrichment.tokens import label_value, words
from tests.unit.enrichment.builders import alert, past, shop


def rank(
    query: IncidentProfile,
    history: list[HistoryEntry],
    *,
    catalog: Catalog | None = None,
    limit: int = 3,
    min_score: float = 0.0,
) -> list[Match]:
    return rank_similar(
        query,
        history,
        catalog=catalog or shop(),
        weights=SimilarityWeights(),
        limit=limit,
        min_score=min_score,
    )


def test_words_drop_numbers_ids_and_replica_suffixes() -> None:
    assert words("HighErrorRate on checkout-7f9c2d: 12% 5xx") == words(
        "High error rate on checkout-1b2e3f: 31% 5xx"
    )
    assert words("p99 latency 4338ms") == ("latency", "#ms")
    assert words("Disk full on db-3") == ("disk", "full", "db")
    assert words("TLS certificates expiring") == ("tls", "certificate", "expiring")  # plurals folded
    assert label_value("web-12") == "web-#"
    assert label_value("10.0.0.1:9100") is None
    assert label_value("3f2a9c1b") is None


def test_the_same_problem_ranks_first_whatever_its_numbers() -> None:
    query = profile_of("HighErrorRate on checkout-7f9c2d: 12% 5xx", ["checkout"])
    history = [
        past(1, "Checkout latency above 2s", days_ago=1),
        past(2, "High error rate on checkout-1b2e3f: 31% 5xx", days_ago=30),
        past(3, "Disk full on db-3", "payments-db", days_ago=2),
    ]
    assert next(m.entry.incident_id for m in rank(query, history)) == 2


def test_rare_words_count_more_than_words_every_incident_has() -> None:
    query = profile_of("checkout certificate expiring", ["checkout"])
    history = [past(i, f"checkout pods restarting {i}", days_ago=i) for i in range(1, 20)]
    history.append(past(99, "certificate expiring on auth", "auth", days_ago=50))
    # one rare shared word on another service beats one common word on the same service
    assert rank(query, history, limit=1)[0].entry.incident_id == 99


def test_a_related_service_counts_half_an_unrelated_one_nothing() -> None:
    query = profile_of("connection pool exhausted", ["checkout"])
    same = past(1, "connection pool exhausted", "checkout")
    dependency = past(2, "connection pool exhausted", "payments")
    unrelated = past(3, "connection pool exhausted", "search")
    scores = {m.entry.incident_id: m.score for m in rank(query, [same, dependency, unrelated])}
    assert scores[1] > scores[2] > scores[3]
    weights = SimilarityWeights()
    assert scores[3] == pytest.approx(weights.text / (weights.text + weights.services), abs=1e-4)


def test_labels_count_only_when_both_incidents_have_them() -> None:
    alerts = [alert("QueueBacklog", "checkout", extra={"region": "eu-west-1", "team": "orders"})]
    query = profile_of("Queue backlog growing", ["checkout"], alerts)
    labelled_alike = past(
        1, "Queue backlog growing", profile=profile_of("Queue backlog growing", ["checkout"], alerts)
    )
    labelled_other = past(
        2,
        "Queue backlog growing",
        profile=profile_of(
            "Queue backlog growing",
            ["checkout"],
            [alert("QueueBacklog", "checkout", extra={"region": "us-east-1"})],
        ),
    )
    imported = past(3, "Queue backlog growing")  # no labels: judged on words and services only
    scores = {m.entry.incident_id: m.score for m in rank(query, [labelled_alike, labelled_other, imported])}
    assert scores[1] == pytest.approx(1.0)
    assert scores[3] == pytest.approx(1.0)
    assert scores[2] < 1.0


def test_ties_go_to_the_newest_and_the_limit_and_threshold_apply() -> None:
    query = profile_of("Redis memory high", ["auth"])
    history = [past(i, "Redis memory high", "auth", days_ago=i) for i in (5, 1, 9)]
    history.append(past(7, "Something else entirely", "search"))
    matches = rank(query, history, limit=2, min_score=0.3)
    assert [m.entry.incident_id for m in matches] == [1, 5]
    assert matches[0].shared_words == ("high", "memory", "redis")
    assert matches[0].shared_services == ("auth",)


def test_similar_section_carries_what_fixed_it() -> None:
    query = profile_of("Payments DB connection pool exhausted", ["payments"])
    history = [
        past(
            4,
            "payments db connection pool exhausted",
            "payments",
            resolution="raised max_connections",
            playbook="restart-payments",
            priority=2,
        )
    ]
    result = similar_incidents(query, history, catalog=shop(), config=EnrichmentConfig())
    assert isinstance(result, SimilarIncidents)
    (item,) = result.items
    assert (item.incident_id, item.external_id, item.priority, item.resolve_seconds) == (
        4,
        "INC-4",
        2,
        42 * 60,
    )
    assert (item.resolution, item.playbook) == ("raised max_connections", "restart-payments")
    assert result.compared == 1


def test_empty_history_and_nothing_alike_are_absent_with_a_note() -> None:
    query = profile_of("Payments DB connection pool exhausted", ["payments"])
    config = EnrichmentConfig()
    assert similar_incidents(query, [], catalog=shop(), config=config) == Absent(NO_HISTORY)
    other = similar_incidents(query, [past(1, "Search index stale", "search")], catalog=shop(), config=config)
    assert other == Absent("no similar past incidents among the 1 compared")
