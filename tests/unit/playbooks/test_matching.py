"""Which playbooks an incident is offered, and the parameter values read from its labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.models import Alert, AlertStatus, Severity
from engine.playbooks import load_library, read_playbook
from engine.playbooks.matching import ParameterError, facts_of, parameter_values

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "playbooks"
T0 = datetime(2026, 11, 11, 12, tzinfo=UTC)


def alert(name: str, at: int, **labels: str) -> Alert:
    return Alert(
        fingerprint=f"{name}{at}",
        name=name,
        status=AlertStatus.FIRING,
        severity=Severity.CRITICAL,
        labels=labels,
        annotations={},
        starts_at=T0 + timedelta(seconds=at),
    )


def test_the_earliest_alert_wins_a_label_conflict() -> None:
    facts = facts_of(
        [alert("B", 5, pod="late", service="checkout"), alert("A", 1, pod="first", zone="z1")], ["payments"]
    )
    assert facts.labels == {"pod": "first", "zone": "z1", "service": "checkout"}
    assert facts.services == {"payments", "checkout"}
    assert facts.alertnames == {"A", "B"}


def test_the_library_offers_the_playbooks_that_fit() -> None:
    library = load_library(EXAMPLES)
    labels = {"cluster": "shop-prod-1", "namespace": "checkout", "pod": "checkout-1"}
    offered = library.matching(labels, ["checkout"], ["PodCrashLooping"])
    assert "restart-checkout-pods" in offered and "checkout-health-report" in offered
    assert "failover-payments-read-replica" not in offered
    # a label matcher must hold too: a staging cluster does not get the production restart
    assert "restart-checkout-pods" not in library.matching(
        {**labels, "cluster": "shop-staging"}, ["checkout"], ["PodCrashLooping"]
    )
    assert library.matching({}, ["nothing"], ["Nothing"]) == []


def test_parameters_from_labels_defaults_and_patterns() -> None:
    playbook, problems = read_playbook(
        """\
name: p
match: {services: [web]}
parameters:
  ns: {label: namespace, default: web, pattern: '[a-z-]+'}
  pod: {label: pod}
  fixed: {value: "12"}
approvers: {users: ["slack:U1"]}
steps: [{name: s, kind: notify, text: "{{ ns }} {{ pod }} {{ fixed }}"}]
""",
        "p.yaml",
    )
    assert problems == [] and playbook is not None
    facts = facts_of([alert("A", 0, pod='"; rm -rf /')], ["web"])
    assert parameter_values(playbook.parameters, facts) == {"ns": "web", "pod": '"; rm -rf /', "fixed": "12"}
    with pytest.raises(ParameterError, match="does not match"):
        parameter_values(playbook.parameters, facts_of([alert("A", 0, pod="x", namespace="a;b")], []))
    with pytest.raises(ParameterError, match="no label 'pod'"):
        parameter_values(playbook.parameters, facts_of([alert("A", 0)], []))
