from __future__ import annotations

from dataclasses import replace

from clustering_builders import alert, at, resolved

from engine.clustering import AlertCorrelator, Decision, InstanceOutcome
from engine.clustering.flapping import FlapTracker


def flap(
    engine: AlertCorrelator, firings: int, period_s: float = 240.0, firing_s: float = 90.0
) -> list[Decision]:
    base = alert("HighLatencyP99", "payments", start=at(0))
    decisions = []
    for n in range(firings):
        start = at(n * period_s)
        instance = replace(base, starts_at=start)
        decisions.append(engine.ingest(instance, start))
        end = at(n * period_s + firing_s)
        decisions.append(engine.ingest(resolved(instance, end), end))
    return decisions


def test_flapping_alert_is_one_incident_and_notifies_once(engine: AlertCorrelator) -> None:
    decisions = flap(engine, firings=6)
    new = [d for d in decisions if d.outcome is InstanceOutcome.NEW]
    assert len(new) == 6
    assert len({d.incident_id for d in decisions}) == 1
    assert [d.notify for d in new] == [True, False, False, False, False, False]
    assert sum(d.notify for d in decisions) == 1


def test_flapping_is_flagged_and_the_count_is_kept(engine: AlertCorrelator) -> None:
    decisions = flap(engine, firings=4)
    assert not decisions[0].flapping
    assert decisions[-1].flapping
    assert decisions[-1].flap_count == 8  # four firings, four resolutions


def test_flapping_incident_stays_open_until_stable_for_the_hysteresis(engine: AlertCorrelator) -> None:
    decisions = flap(engine, firings=4)
    incident = decisions[0].incident_id
    last_change = at(3 * 240 + 90)
    # The quiet period (10 min) has passed, but the alert flaps: no resolution yet.
    assert engine.tick(last_change + (at(minutes=15) - at(0))) == ()
    snapshot = engine.incident(incident)
    assert snapshot is not None and snapshot.open
    closures = engine.tick(last_change + (at(minutes=25) - at(0)))
    assert [c.incident_id for c in closures] == [incident]
    # The count survives the end of flapping.
    later = alert("HighLatencyP99", "payments", start=at(hours=2))
    decision = engine.ingest(later, at(hours=2))
    assert decision.opened and decision.notify
    assert not decision.flapping
    assert decision.flap_count == 9


def test_tracker_hysteresis_and_threshold() -> None:
    tracker = FlapTracker(threshold=3, window=600.0, hysteresis=300.0, memory=3600.0)
    assert not tracker.record("fp", 0.0).flapping
    assert not tracker.record("fp", 60.0).flapping
    assert tracker.record("fp", 120.0).flapping
    assert tracker.status("fp", 400.0).flapping  # 280 s stable: not enough
    assert not tracker.status("fp", 421.0).flapping
    assert tracker.status("fp", 421.0).total_changes == 3
    # Changes spread wider than the window never make it flap.
    spread = FlapTracker(threshold=3, window=100.0, hysteresis=300.0, memory=3600.0)
    assert not any(spread.record("fp", t).flapping for t in (0.0, 200.0, 400.0, 600.0))
    assert tracker.forget_idle(120.0 + 3601.0) == 1 and len(tracker) == 0
