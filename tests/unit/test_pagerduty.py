"""PagerDuty wire formats: webhook signatures (PagerDuty's own example), parsing of real v3 bodies,
Events API v2 bodies, and which routing key pages for a service."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.catalog import Catalog
from engine.escalation import Routing
from engine.models import Service
from integrations.pagerduty import (
    MAX_DETAILS_BYTES,
    MAX_SUMMARY,
    IncidentFacts,
    WebhookError,
    dedup_key_for,
    follow_event,
    parse_webhook,
    severity_for,
    signature,
    trigger_event,
    verify_signature,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pagerduty"
KEY_A = "a" * 32
KEY_B = "b" * 32
KEY_C = "c" * 32


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def published() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(fixture("published_signature_example.json"))
    return document


def test_pagerdutys_published_example_verifies() -> None:
    example = published()
    body = example["body"].encode()
    assert signature(body, example["secret"]) == example["signature"]
    assert verify_signature(body, example["signature"], [example["secret"]])
    assert not verify_signature(body, example["forged_signature"], [example["secret"]])


def test_altered_body_unsigned_and_other_versions_are_rejected() -> None:
    example = published()
    body = example["body"].encode()
    altered = body.replace(b"A little bump", b"A little bumq")
    assert not verify_signature(altered, example["signature"], [example["secret"]])
    assert not verify_signature(body, None, [example["secret"]])
    assert not verify_signature(body, "", [example["secret"]])
    assert not verify_signature(body, example["signature"].replace("v1=", "v2="), [example["secret"]])
    assert not verify_signature(body, example["signature"].upper(), [example["secret"]])
    assert not verify_signature(body, example["signature"], [])


def test_any_matching_value_and_any_configured_secret_verify_during_rotation() -> None:
    body = fixture("acknowledged_v3.json")
    old, new = "old-secret", "new-secret"
    # PagerDuty signs with both secrets while one is rotated; we may know either
    header = f"{signature(body, new)},{signature(body, old)}"
    assert verify_signature(body, header, [old])
    assert verify_signature(body, header, [new])
    assert verify_signature(body, f"v1=deadbeef, {signature(body, old)}", ["unrelated", old])
    assert not verify_signature(body, header, ["unrelated"])


@pytest.mark.parametrize(
    ("name", "action", "incident_id", "incident_key", "agent"),
    [
        ("triggered_v3.json", "triggered", "PFQZPSY", None, "PIG 208"),
        ("acknowledged_v3.json", "acknowledged", "PQ1K5C8", None, "PIG 208"),
        ("unacknowledged_v3.json", "unacknowledged", "PQ1K5C8", None, "PIG 208"),
        ("resolved_v3.json", "resolved", "PCPZE64", None, "PIG 208"),
        (
            "reopened_v3.json",
            "reopened",
            "Q05XJA8GDXGOB3",
            "07261e18031d41268a16c774c1892cae",
            "Harsh Santwani",
        ),
        (
            "escalated_v3.json",
            "escalated",
            "Q3B15VLMF3ASBD",
            "d387d7bd2e0a4294a5307339dfe1669a",
            "Harsh Santwani",
        ),
        (
            "priority_updated_v3.json",
            "priority_updated",
            "Q3B15VLMF3ASBD",
            "d387d7bd2e0a4294a5307339dfe1669a",
            "Harsh Santwani",
        ),
        ("annotated_v3.json", "annotated", "Q3B15VLMF3ASBD", None, "Harsh Santwani"),
    ],
)
def test_real_v3_bodies_parse(
    name: str, action: str, incident_id: str, incident_key: str | None, agent: str
) -> None:
    event = parse_webhook(fixture(name))
    assert (event.action, event.incident_id, event.incident_key, event.agent) == (
        action,
        incident_id,
        incident_key,
        agent,
    )
    assert event.id.startswith("01")


def test_parsed_details_of_priority_assignees_and_notes() -> None:
    updated = parse_webhook(fixture("priority_updated_v3.json"))
    assert (updated.priority, updated.number, updated.assignees) == ("P2", 5, ("Harsh Santwani",))
    assert updated.html_url == "https://harsh0303.pagerduty.com/incidents/Q3B15VLMF3ASBD"
    note = parse_webhook(fixture("annotated_v3.json"))
    assert note.note == "Running KILL on long-running queries from the reporting-service."
    assert note.title == "Critical: Checkout API High Latency"
    assert parse_webhook(fixture("acknowledged_v3.json")).priority is None


def test_agent_that_is_not_a_person_is_not_named() -> None:
    document = json.loads(fixture("resolved_v3.json"))
    document["event"]["agent"] = {"id": "PSVC", "type": "service_reference", "summary": "Checkout"}
    assert parse_webhook(json.dumps(document).encode()).agent is None
    document["event"]["agent"] = None
    assert parse_webhook(json.dumps(document).encode()).agent is None


def test_non_incident_events_parse_without_an_incident() -> None:
    ping = (
        b'{"event":{"id":"01PING","event_type":"pagey.ping","resource_type":"pagey","data":{"message":"hi"}}}'
    )
    event = parse_webhook(ping)
    assert (event.event_type, event.incident_id) == ("pagey.ping", None)


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"event": 1}', b'{"event": {"id": "", "event_type": "x"}}', b"\xff\xfe"],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(WebhookError):
        parse_webhook(body)


def facts(**changes: Any) -> IncidentFacts:
    values: dict[str, Any] = {
        "id": 42,
        "title": "Checkout latency p99 above 2s",
        "status": "open",
        "priority": 1,
        "service": "checkout",
        "services": ("checkout", "payments"),
        "opened_at": datetime(2026, 11, 11, 11, 45, tzinfo=UTC),
        "reasons": ("customer-facing tier-1 service",),
        "enrichment": {"sections": [{"title": "Recent changes", "items": ["deploy 1.2.3"]}]},
        "team": "shop",
    }
    values.update(changes)
    return IncidentFacts(**values)


def test_dedup_key_is_stable_per_incident_and_distinct_otherwise() -> None:
    opened = datetime(2026, 11, 11, 11, 45, tzinfo=UTC)
    key = dedup_key_for(42, opened)
    assert key == dedup_key_for(42, opened)
    assert key != dedup_key_for(43, opened)
    assert key != dedup_key_for(42, datetime(2025, 1, 1, tzinfo=UTC))
    assert len(key) <= 255


def test_trigger_body_carries_summary_severity_details_and_link() -> None:
    event = trigger_event(
        facts(),
        routing_key=KEY_A,
        dedup_key="nocbot-incident-42-1",
        console_url="https://nocbot.example/console#incident-42",
        api_url="https://nocbot.example/api/v1/incidents/42",
    )
    assert (event["routing_key"], event["event_action"], event["dedup_key"]) == (
        KEY_A,
        "trigger",
        "nocbot-incident-42-1",
    )
    payload = event["payload"]
    assert payload["summary"] == "[P1] #42 Checkout latency p99 above 2s (checkout)"
    assert (payload["severity"], payload["source"], payload["component"], payload["group"]) == (
        "critical",
        "checkout",
        "checkout",
        "shop",
    )
    details = payload["custom_details"]
    assert details["enrichment"]["sections"][0]["title"] == "Recent changes"
    assert details["console"] == "https://nocbot.example/console#incident-42"
    assert details["api"] == "https://nocbot.example/api/v1/incidents/42"
    assert event["links"][0]["href"] == "https://nocbot.example/console#incident-42"
    json.dumps(event)  # what goes into the outbox and onto the wire


def test_summary_is_capped_and_huge_enrichment_is_left_out() -> None:
    event = trigger_event(
        facts(title="x" * 5000, enrichment={"blob": "y" * (MAX_DETAILS_BYTES + 1)}),
        routing_key=KEY_A,
        dedup_key="k",
        console_url="u",
        api_url="a",
    )
    assert len(event["payload"]["summary"]) == MAX_SUMMARY
    assert "blob" not in event["payload"]["custom_details"]["enrichment"]


def test_severity_follows_priority() -> None:
    assert [severity_for(p) for p in (1, 2, 3, 4, 5, None)] == [
        "critical",
        "error",
        "warning",
        "info",
        "info",
        "warning",
    ]


def test_follow_events_need_only_the_keys() -> None:
    assert follow_event("resolve", routing_key=KEY_A, dedup_key="k") == {
        "routing_key": KEY_A,
        "event_action": "resolve",
        "dedup_key": "k",
    }
    with pytest.raises(ValueError):
        follow_event("trigger", routing_key=KEY_A, dedup_key="k")


def test_routing_prefers_service_then_catalog_then_team_then_default() -> None:
    catalog = Catalog.from_services(
        [
            Service("payments", owner="money"),
            Service("checkout", owner="shop", pagerduty_routing_key=KEY_C),
            Service("ledger", owner="money", pagerduty_routing_key="payments"),
            Service("search", owner="nobody"),
        ]
    )
    routing = Routing({"default": KEY_A, "payments": KEY_B, "money": KEY_C}, catalog)
    assert routing.key_for(["payments"]) == KEY_B  # by service name in the settings
    assert routing.key_for(["checkout"]) == KEY_C  # the catalog's own key
    assert routing.key_for(["ledger"]) == KEY_B  # the catalog names a key of the settings
    assert routing.key_for(["search"]) == KEY_A  # nothing specific: default
    assert routing.key_for(["unknown", "payments"]) == KEY_B  # the first service that has one
    assert Routing({"payments": KEY_B}, catalog).key_for(["search"]) is None
    assert routing.team_of("checkout") == "shop"
