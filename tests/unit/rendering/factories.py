"""Incidents to render: ordinary ones, a hostile one, and one as large as production ever sends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.storage.records import IncidentRecord
from engine.view import Chart, IncidentView, SectionItem, ViewSection, build_incident_view

NOW = datetime(2026, 11, 11, 12, 4, tzinfo=UTC)
OPENED = NOW - timedelta(minutes=72)
HOSTILE = '<script>alert("x")</script> \' " & <!channel> <@U123> [click](http://evil.example) *b* _i_'


def record(**overrides: Any) -> IncidentRecord:
    fields: dict[str, Any] = {
        "id": 42,
        "title": "Checkout error rate above 5%",
        "status": "open",
        "origin": "cluster",
        "service": "checkout",
        "services": ["checkout", "payments"],
        "priority": 2,
        "priority_source": "model",
        "score": 71.4,
        "scorer": "xgboost",
        "reasons": [
            {"feature": "customer_facing", "phrase": "customer-facing service", "weight": 1.2},
            {"feature": "alert_count", "phrase": "14 alerts", "weight": 0.6},
            "change 12 min before it started",
            {"feature": "minutes_open", "phrase": "open for 72 min", "weight": 0.1},
        ],
        "enrichment": {},
        "alert_count": 14,
        "opened_at": OPENED,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
        "auto_resolved": False,
        "resolution": None,
        "playbook": None,
        "external_id": None,
        "updated_at": NOW,
        "version": 7,
    }
    fields.update(overrides)
    return IncidentRecord(**fields)


def acknowledged(**overrides: Any) -> IncidentRecord:
    return replace(
        record(**overrides),
        status="acknowledged",
        acknowledged_by="alice",
        acknowledged_at=NOW - timedelta(minutes=5),
    )


def resolved(**overrides: Any) -> IncidentRecord:
    return replace(
        acknowledged(**overrides),
        status="resolved",
        resolved_by="bob",
        resolved_at=NOW - timedelta(minutes=1),
    )


SECTIONS = (
    ViewSection(
        "Recent changes",
        lines=(
            SectionItem(
                "deploy checkout v2.14.1 by carol, 12 min before", url="https://ci.example/builds/991"
            ),
            SectionItem("config: payments timeout 2s → 500ms"),
        ),
    ),
    ViewSection(
        "Similar past incidents",
        lines=(SectionItem("#31 Checkout 5xx after deploy — fixed by rollback (P2, 25 min)"),),
    ),
    ViewSection(
        "Owner",
        fields=(
            SectionItem("team-payments", label="Team"),
            SectionItem("runbook", label="Runbook", url="https://wiki.example/runbooks/checkout"),
        ),
    ),
)


def ordinary_view(incident: IncidentRecord | None = None, **overrides: Any) -> IncidentView:
    options: dict[str, Any] = {
        "now": NOW,
        "sections": SECTIONS,
        "playbooks": ["restart-checkout", "rollback-last-deploy"],
        "chart": Chart("https://nocbot.example/charts/42.png", "error rate, last 2 h"),
        "series": [1.0, 1.2, 1.1, 4.0, 9.5, 9.8],
        "can_escalate": True,
        "offer_split": True,
        "merge_candidates": [41],
        "console_url": "https://nocbot.example/incidents/42",
    }
    options.update(overrides)
    return build_incident_view(incident or record(), **options)


def huge_view() -> IncidentView:
    """5,000 alerts, 5,000 services and labels far longer than any limit, everywhere at once."""
    label = "x" * 3000
    incident = record(
        title=(HOSTILE + " ") * 400,
        service=None,
        services=[f"service-{i}-{label}" for i in range(5000)],
        alert_count=5000,
        reasons=[{"phrase": f"reason {i} " + label} for i in range(50)],
    )
    alerts = tuple(
        SectionItem(
            f"HighLatency instance=host-{i}:9100 pod={label} {HOSTILE}", url=f"https://am.example/{i}"
        )
        for i in range(5000)
    )
    fields = tuple(SectionItem(f"{label}&<>", label=f"label-{i}-{label}") for i in range(40))
    sections = (
        ViewSection(f"Related alerts {label}", lines=alerts, fields=fields),
        *(ViewSection(f"Section {i} {HOSTILE}", lines=alerts[:50]) for i in range(80)),
    )
    playbooks = [f"playbook-{i}-" + "p" * 180 for i in range(120)] + ["too-long-" + "q" * 300]
    return build_incident_view(
        incident,
        now=NOW,
        sections=sections,
        playbooks=playbooks,
        chart=Chart("https://nocbot.example/charts/42.png", label),
        series=[float(i % 17) for i in range(5000)],
        can_escalate=True,
        offer_split=True,
        merge_candidates=list(range(100)),
        console_url="https://nocbot.example/incidents/42",
    )
