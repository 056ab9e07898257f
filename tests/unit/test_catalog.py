import pytest

from engine.catalog import CatalogError, parse_catalog

CATALOG = """
services:
  - {name: frontend, tier: 1, customer_facing: true, depends_on: [checkout]}
  - {name: checkout, depends_on: [payments, queue]}
  - {name: payments, owner: team-pay, depends_on: [db]}
  - {name: db, kind: database, tier: 1}
  - {name: queue, kind: queue}
  - {name: lonely, some_other_tool_field: 3}
"""


def test_topology_queries() -> None:
    catalog = parse_catalog(CATALOG)
    assert catalog.dependencies("checkout") == {"payments", "queue", "db"}
    assert catalog.dependents("db") == {"payments", "checkout", "frontend"}
    assert catalog.related("frontend", "db")
    assert not catalog.related("lonely", "db")
    assert catalog.get("payments") is not None and catalog.get("payments").owner == "team-pay"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services: [{name: a, depends_on: [b]}]", "unknown service 'b'"),
        ("services: [{tier: 1}]", "'name'"),
        ("services: [{name: a, tier: high}]", "tier"),
        ("services: {a: 1}", "'services' list"),
        ("services: [", "not valid YAML"),
    ],
)
def test_bad_catalogs_say_where(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(text, source="services.yaml")


def test_cycles_do_not_hang() -> None:
    catalog = parse_catalog("services: [{name: a, depends_on: [b]}, {name: b, depends_on: [a]}]")
    assert catalog.dependencies("a") == {"b"}
