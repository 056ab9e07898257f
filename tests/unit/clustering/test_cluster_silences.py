from __future__ import annotations

from datetime import timedelta

import pytest
from clustering_builders import alert, at

from engine.clustering import AlertCorrelator, Matcher, MatchOp, Silence, is_silenced, silencing


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("service=payments", {"service": "payments"}, True),
        ("service=payments", {"service": "payments-v2"}, False),
        ('service!="payments"', {"service": "checkout"}, True),
        ("service!=payments", {"service": "payments"}, False),
        ('alertname=~"High.*|Disk"', {"alertname": "HighErrorRate"}, True),
        ("alertname=~Disk", {"alertname": "DiskSpaceLow"}, False),  # anchored at both ends
        ("team!~ops|sre", {"team": "sre"}, False),
        ("team!~ops|sre", {"team": "payments"}, True),
        ('team=""', {}, True),  # a missing label reads as empty, as in Alertmanager
        ("team=~.+", {}, False),
    ],
)
def test_matchers_follow_alertmanager(text: str, labels: dict[str, str], expected: bool) -> None:
    assert Matcher.parse(text).matches(labels) is expected


def test_matcher_parsing() -> None:
    matcher = Matcher.parse('  severity =~ "critical|page" ')
    assert (matcher.name, matcher.op, matcher.value) == ("severity", MatchOp.REGEX, "critical|page")
    with pytest.raises(ValueError, match="not a label matcher"):
        Matcher.parse("no operator here")
    with pytest.raises(ValueError, match="bad regular expression"):
        Matcher.parse("service=~(")


def test_silence_applies_only_while_active() -> None:
    silence = Silence("s1", (Matcher.parse("service=payments"),), at(0), at(minutes=60))
    payments = alert("HighErrorRate", "payments", start=at(0))
    assert not is_silenced(payments, [silence], at(-1))
    assert is_silenced(payments, [silence], at(minutes=30))
    assert not is_silenced(payments, [silence], at(minutes=60))  # ends_at is exclusive
    assert not is_silenced(alert("HighErrorRate", "checkout", start=at(0)), [silence], at(minutes=30))


def test_every_matcher_must_match() -> None:
    silence = Silence("s1", (Matcher.parse("service=payments"), Matcher.parse("severity=warning")),
                      at(0), at(minutes=60))
    assert silencing(alert("HighErrorRate", "payments", start=at(0)), [silence], at(1)) == ()


def test_silence_needs_matchers_and_a_positive_duration() -> None:
    with pytest.raises(ValueError):
        Silence("s1", (), at(0), at(60))
    with pytest.raises(ValueError):
        Silence("s1", (Matcher.parse("a=b"),), at(60), at(60))


def test_silenced_alert_is_clustered_but_does_not_notify(engine: AlertCorrelator) -> None:
    matchers = (Matcher.parse("service=db-payments"),)
    maintenance = Silence("maint-42", matchers, at(0), at(0) + timedelta(hours=1))
    engine.set_silences([maintenance])
    database = engine.ingest(alert("DatabaseHighLatency", "db-payments", start=at(0)), at(0))
    assert database.silenced_by == ("maint-42",)
    assert database.opened and not database.notify
    dependent = engine.ingest(alert("HighErrorRate", "payments", start=at(30)), at(30))
    assert dependent.incident_id == database.incident_id
    assert dependent.notify and not dependent.silenced
