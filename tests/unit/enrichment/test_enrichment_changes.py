from __future__ import annotations

from engine.catalog import Catalog
from engine.enrichment.changes import change_scope, recent_changes
from engine.enrichment.sections import Absent, RecentChanges
from engine.models import ChangeEvent
from tests.unit.enrichment.builders import at, change, shop


def build(
    changes: list[ChangeEvent], scope: dict[str, str], *, catalog: bool = True
) -> RecentChanges | Absent:
    return recent_changes(
        changes,
        scope=scope,
        since=at(hours=-2),
        until=at(minutes=30),
        incident_start=at(),
        more=False,
        catalog_configured=catalog,
    )


def test_scope_is_the_affected_services_and_everything_they_depend_on() -> None:
    scope = change_scope(["checkout"], shop())
    assert scope["checkout"] == "affected"
    assert scope["payments"] == "dependency of checkout"
    assert scope["payments-db"] == "dependency of checkout"  # transitive: payments -> payments-db
    assert "frontend" not in scope  # depends on checkout, cannot have broken it
    assert "search" not in scope


def test_an_affected_service_stays_affected_when_another_depends_on_it() -> None:
    scope = change_scope(["checkout", "payments"], shop())
    assert scope["payments"] == "affected"


def test_without_a_catalog_only_the_affected_services_are_searched() -> None:
    assert change_scope(["checkout"], Catalog.empty()) == {"checkout": "affected"}


def test_changes_newest_first_with_their_relation_and_lead_time() -> None:
    scope = change_scope(["checkout"], shop())
    result = build(
        [
            change("checkout", minutes=-10, who="alice", what="deploy checkout 2.4.1"),
            change("payments-db", minutes=-50, who="bob", what="add index"),
            change("search", minutes=-5),
        ],
        scope,
    )
    assert isinstance(result, RecentChanges)
    assert [(c.service, c.who, c.relation, c.minutes_before_start) for c in result.items] == [
        ("checkout", "alice", "affected", 10.0),
        ("payments-db", "bob", "dependency of checkout", 50.0),
    ]
    assert result.scope_note is None


def test_changes_outside_the_window_are_left_out() -> None:
    result = build(
        [change("checkout", minutes=-121), change("checkout", minutes=31)], {"checkout": "affected"}
    )
    assert isinstance(result, Absent)
    assert result.note == "no changes on checkout since 2026-11-22 08:00 UTC"


def test_no_catalog_is_said_next_to_the_changes() -> None:
    result = build([change("checkout", minutes=-1)], {"checkout": "affected"}, catalog=False)
    assert isinstance(result, RecentChanges)
    assert result.scope_note == "no service catalog configured: dependencies not searched"


def test_an_incident_without_a_service_has_no_changes_section() -> None:
    assert isinstance(build([change("checkout", minutes=-1)], {}), Absent)
