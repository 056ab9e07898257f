from __future__ import annotations

from engine.catalog import Catalog
from engine.enrichment.sections import Absent, AffectedServices, Neighbour
from engine.enrichment.services import NO_CATALOG, affected_services, neighbours
from tests.unit.enrichment.builders import shop


def test_owner_tier_runbook_and_neighbours_with_their_alerts() -> None:
    result = affected_services(["payments"], shop(), {"payments": 3, "payments-db": 2, "checkout": 1})
    assert isinstance(result, AffectedServices)
    (payments,) = result.services
    assert (payments.owner, payments.tier, payments.kind, payments.runbook) == (
        "team-payments",
        0,
        "service",
        "https://runbooks.shop.example/payments",
    )
    assert payments.depends_on == (Neighbour("payments-db", 2, False), Neighbour("auth", 0, False))
    assert payments.dependents == (Neighbour("checkout", 1, False),)
    assert [n.name for n in payments.alerting_neighbours] == ["payments-db", "checkout"]


def test_neighbours_in_the_incident_are_marked() -> None:
    result = affected_services(["checkout", "payments"], shop(), {})
    assert isinstance(result, AffectedServices)
    checkout = result.services[0]
    assert Neighbour("payments", 0, True) in checkout.depends_on


def test_neighbours_to_look_up_exclude_the_affected_services() -> None:
    assert neighbours(["checkout", "payments"], shop()) == [
        "inventory",
        "auth",
        "orders-queue",
        "frontend",
        "payments-db",
    ]


def test_missing_catalog_and_unknown_services_degrade_with_a_note() -> None:
    assert affected_services(["checkout"], Catalog.empty(), {}) == Absent(NO_CATALOG)
    assert affected_services(["legacy-billing"], shop(), {}) == Absent(
        "not in the service catalog: legacy-billing"
    )
    partial = affected_services(["checkout", "legacy-billing"], shop(), {})
    assert isinstance(partial, AffectedServices)
    assert partial.not_in_catalog == ("legacy-billing",)
    assert affected_services([], shop(), {}) == Absent("the incident names no service")
