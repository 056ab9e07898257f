"""Generate a reproducible, synthetic incident history for training and benchmarking priority scoring.

Nothing here is real data. The world is small but shaped like a real one:

* **Services.** 36 services of a web shop in four teams (Berlin, New York, Dublin, Bangalore), with
  tiers 0-4, customer-facing flags and dependencies (`catalog()` / `--catalog services.yaml`).
  Three more services exist but are missing from the catalog, as legacy services usually are.
* **Problems.** Each service has 3-6 recurring problem types (error rate, latency, disk, crash
  loops, certificates, queues, DB connections, memory). A problem type on a service is a *family*;
  family frequencies are heavy-tailed, so a few chronic problems recur every few days.
* **Time.** One year of incidents ending 2025-06-30, busier during the owning team's business hours.
* **Each incident** has a latent impact (standard normal, shifted per problem type). Impact widens
  the blast radius (more alerts, hosts, dependent services), raises alert severity and drives the
  peak anomaly score (0..1, on engine.detection's scale). Deploys on the affected services happen
  in the hour before for 35% of incidents in business hours and 10% outside.
* **The priority** (what a human on call would set) comes from a latent urgency:

      urgency = severity points (info 0, warning 1, error 2, critical 3)
              + tier points (tier 0: 2.6, 1: 2.0, 2: 1.2, 3: 0.5, 4: 0)
              + 1.4 if customer-facing (+0.5 more during the team's business hours)
              + 0.7 x log2(alerts) + 0.5 per extra affected service (up to 2)
              + 0.9 if a deploy came <= 15 min before, 0.5 if <= 60 min
              - 0.25 per similar incident in the last 30 days (up to 6: known, with a known fix)
              + 0.6 x latent impact + 0.3 if still open after 30 min
              + Gaussian noise (sd 0.5: people judge differently)

  cut at fixed thresholds into P1..P5 (about 5/15/35/30/15%), after which 4% of labels move one
  step up or down (inconsistent triage). A perfect model therefore cannot reach 100% accuracy.
* **Missing information**, as in real operations: 35% of incidents have no anomaly score, 8% no
  change feed, 5% no team time zone, 8% of alerts carry no host label, and incidents on the legacy
  services have no catalog entry (no tier, no customer-facing flag).
* **Times to acknowledge and resolve** depend on the priority and on how hard the family is, so the
  median time-to-resolve of earlier similar incidents carries signal, as it does in reality.

Run `python examples/history/generate_history.py --csv history.csv --catalog services.yaml` to
write the history in the `import-incidents` CSV format
(`id,title,service,priority,opened_at,acknowledged_at,resolved_at,resolution,playbook`).
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import yaml

from engine.catalog import Catalog
from engine.models import (
    Alert,
    AlertStatus,
    ChangeEvent,
    PastIncident,
    Priority,
    Service,
    Severity,
)
from engine.scoring.facts import IncidentFacts

HISTORY_END = datetime(2025, 6, 30, tzinfo=UTC)
HISTORY_DAYS = 365
DEFAULT_COUNT = 12_000
DEFAULT_SEED = 20250630
CSV_HEADER = (
    "id",
    "title",
    "service",
    "priority",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "resolution",
    "playbook",
)

TEAM_ZONES = {
    "storefront": "Europe/Berlin",
    "payments": "America/New_York",
    "platform": "Europe/Dublin",
    "data": "Asia/Kolkata",
}

# name, tier, customer-facing, team, depends_on
_SERVICES: tuple[tuple[str, int, bool, str, tuple[str, ...]], ...] = (
    ("api-gateway", 0, True, "platform", ("login",)),
    ("login", 0, True, "platform", ("user-profile",)),
    ("checkout", 0, True, "payments", ("payments", "cart", "pricing", "inventory", "orders")),
    ("payments", 0, True, "payments", ("ledger", "fraud-scoring")),
    ("storefront", 1, True, "storefront", ("api-gateway", "search", "recommendations", "media-cdn")),
    ("search", 1, True, "storefront", ("inventory",)),
    ("cart", 1, True, "storefront", ("pricing",)),
    ("mobile-bff", 1, True, "storefront", ("api-gateway", "search", "cart")),
    ("media-cdn", 1, True, "platform", ()),
    ("recommendations", 2, True, "data", ("user-profile",)),
    ("notifications", 2, True, "platform", ("email-sender",)),
    ("inventory", 2, False, "storefront", ("warehouse-sync",)),
    ("pricing", 2, False, "payments", ("feature-flags",)),
    ("orders", 2, False, "payments", ("ledger",)),
    ("shipping", 2, True, "storefront", ("orders",)),
    ("user-profile", 2, False, "platform", ()),
    ("reviews", 2, True, "storefront", ("user-profile",)),
    ("fraud-scoring", 2, False, "payments", ()),
    ("reporting", 3, False, "data", ("etl-nightly",)),
    ("etl-nightly", 3, False, "data", ("warehouse-sync",)),
    ("billing-export", 3, False, "payments", ("ledger",)),
    ("feature-flags", 3, False, "platform", ()),
    ("email-sender", 3, False, "platform", ()),
    ("ledger", 1, False, "payments", ()),
    ("warehouse-sync", 3, False, "data", ()),
    ("search-indexer", 3, False, "storefront", ("search",)),
    ("ci-runners", 4, False, "platform", ("artifact-store", "build-cache")),
    ("grafana", 4, False, "platform", ()),
    ("log-shipper", 4, False, "platform", ()),
    ("backup", 4, False, "platform", ()),
    ("wiki", 4, False, "platform", ()),
    ("artifact-store", 4, False, "platform", ()),
    ("build-cache", 4, False, "platform", ()),
    ("sandbox", 4, False, "platform", ()),
    ("ab-testing", 3, False, "data", ("feature-flags",)),
    ("ml-training", 4, False, "data", ("warehouse-sync",)),
)
# Real, but nobody put them in the catalog: their incidents have no tier or customer-facing flag.
_UNCATALOGUED: tuple[tuple[str, int, bool, str], ...] = (
    ("legacy-batch", 3, False, "data"),
    ("old-cms", 2, True, "storefront"),
    ("partner-sftp", 3, False, "payments"),
)


@dataclass(frozen=True, slots=True)
class ProblemType:
    key: str
    title: str
    alert_name: str
    severity_weights: tuple[float, float, float, float]  # info, warning, error, critical
    impact_shift: float
    playbook: str
    resolutions: tuple[str, ...]


PROBLEM_TYPES: tuple[ProblemType, ...] = (
    ProblemType(
        "error-rate",
        "High 5xx rate on {service}",
        "HighErrorRate",
        (0, 0.2, 0.5, 0.3),
        0.5,
        "high-error-rate",
        ("Rolled back the latest deploy", "Scaled out", "Restarted unhealthy pods"),
    ),
    ProblemType(
        "latency",
        "p99 latency above {n}ms on {service}",
        "HighLatency",
        (0, 0.4, 0.45, 0.15),
        0.2,
        "high-latency",
        ("Scaled out", "Warmed the cache", "Killed a slow query"),
    ),
    ProblemType(
        "disk",
        "Disk usage above {n}% on {host}",
        "DiskFilling",
        (0.1, 0.5, 0.3, 0.1),
        -0.3,
        "disk-full",
        ("Rotated logs", "Expanded the volume", "Deleted old snapshots"),
    ),
    ProblemType(
        "crashloop",
        "Pod crash-looping in {service}",
        "CrashLooping",
        (0, 0.3, 0.5, 0.2),
        0.1,
        "crashloop",
        ("Rolled back the latest deploy", "Raised the memory limit", "Fixed config"),
    ),
    ProblemType(
        "cert",
        "TLS certificate expiring for {service}",
        "CertExpiring",
        (0.3, 0.5, 0.15, 0.05),
        -0.6,
        "cert-renewal",
        ("Renewed the certificate",),
    ),
    ProblemType(
        "queue",
        "Queue backlog growing for {service}",
        "QueueBacklog",
        (0.05, 0.45, 0.4, 0.1),
        0.0,
        "queue-backlog",
        ("Added consumers", "Skipped poison messages", "Restarted consumers"),
    ),
    ProblemType(
        "db-conn",
        "Database connections exhausted for {service}",
        "DbConnectionsExhausted",
        (0, 0.2, 0.5, 0.3),
        0.4,
        "db-connections",
        ("Raised the pool size", "Killed idle sessions"),
    ),
    ProblemType(
        "memory",
        "Memory usage above {n}% on {host}",
        "MemoryPressure",
        (0.1, 0.5, 0.3, 0.1),
        -0.2,
        "memory-pressure",
        ("Restarted the process", "Raised the memory limit"),
    ),
)

_SEVERITY_POINTS = {Severity.INFO: 0.0, Severity.WARNING: 1.0, Severity.ERROR: 2.0, Severity.CRITICAL: 3.0}
_TIER_POINTS = {0: 2.6, 1: 2.0, 2: 1.2, 3: 0.5, 4: 0.0}
# Urgency cut points between P1|P2, P2|P3, P3|P4, P4|P5, chosen once for a 5/15/35/30/15% mix.
_PRIORITY_CUTS = (8.35, 6.2, 3.4, 1.1)
_MINUTES_TO_ACK = {Priority.P1: 3, Priority.P2: 8, Priority.P3: 30, Priority.P4: 120, Priority.P5: 480}
_MINUTES_TO_RESOLVE = {
    Priority.P1: 60,
    Priority.P2: 120,
    Priority.P3: 240,
    Priority.P4: 720,
    Priority.P5: 2880,
}
SIMILAR_LOOKBACK = timedelta(days=90)
ANOMALY_SCORE_DECADES = 8.0  # engine.detection's default: score 1 = tail probability 1e-8


@dataclass(frozen=True, slots=True)
class World:
    services: dict[str, tuple[Service, str]]
    """Every service, catalogued or not, with its team."""
    catalog: Catalog
    families: tuple[tuple[str, ProblemType], ...]
    family_weights: np.ndarray
    family_difficulty: np.ndarray


@dataclass(frozen=True, slots=True)
class SyntheticIncident:
    record: PastIncident
    """The incident as a ticketing tool would export it (one CSV row)."""
    facts: IncidentFacts
    """What nocbot knew when the priority was set: the input of scoring."""
    priority: Priority


def catalog() -> Catalog:
    return Catalog.from_services(
        Service(name=name, tier=tier, customer_facing=cf, owner=team, depends_on=deps)
        for name, tier, cf, team, deps in _SERVICES
    )


def build_world(rng: np.random.Generator) -> World:
    published = catalog()
    services = {s.name: (s, s.owner or "platform") for s in published.services.values()}
    for name, tier, cf, team in _UNCATALOGUED:
        services[name] = (Service(name=name, tier=tier, customer_facing=cf, owner=team), team)
    families: list[tuple[str, ProblemType]] = []
    for name in services:
        chosen = rng.choice(len(PROBLEM_TYPES), size=int(rng.integers(3, 7)), replace=False)
        families.extend((name, PROBLEM_TYPES[int(i)]) for i in sorted(chosen))
    weights = rng.lognormal(0.0, 1.0, size=len(families))
    return World(
        services=services,
        catalog=published,
        families=tuple(families),
        family_weights=weights / weights.sum(),
        family_difficulty=rng.lognormal(0.0, 0.5, size=len(families)),
    )


def generate_history(
    count: int = DEFAULT_COUNT, *, seed: int = DEFAULT_SEED, end: datetime = HISTORY_END
) -> tuple[Catalog, list[SyntheticIncident]]:
    """`count` incidents in time order, and the catalog they refer to. Same seed, same history."""
    rng = np.random.default_rng(seed)
    world = build_world(rng)
    family_of = rng.choice(len(world.families), size=count, p=world.family_weights)
    starts = sorted((_opening_time(rng, world, int(f), end), int(f)) for f in family_of)
    earlier: dict[int, deque[PastIncident]] = {}
    incidents: list[SyntheticIncident] = []
    for number, (opened_at, family) in enumerate(starts, start=1):
        same = earlier.setdefault(family, deque())
        while same and same[0].opened_at < opened_at - SIMILAR_LOOKBACK:
            same.popleft()
        incident = _incident(rng, world, family, number, opened_at, tuple(same))
        incidents.append(incident)
        same.append(incident.record)
    return world.catalog, incidents


def _opening_time(rng: np.random.Generator, world: World, family: int, end: datetime) -> datetime:
    service, _ = world.families[family]
    zone = ZoneInfo(TEAM_ZONES[world.services[service][1]])
    day = end - timedelta(days=int(rng.integers(1, HISTORY_DAYS + 1)))
    local_day = day.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    # Most incidents start while people change things: during the team's working hours.
    working_hours = rng.random() < 0.55
    minute = int(rng.integers(9 * 60, 18 * 60) if working_hours else rng.integers(0, 24 * 60))
    return (local_day + timedelta(minutes=minute)).astimezone(UTC)


def _incident(
    rng: np.random.Generator,
    world: World,
    family: int,
    number: int,
    opened_at: datetime,
    similar: tuple[PastIncident, ...],
) -> SyntheticIncident:
    service_name, problem = world.families[family]
    service, team = world.services[service_name]
    zone = ZoneInfo(TEAM_ZONES[team])
    impact = float(rng.normal(problem.impact_shift, 1.0))

    affected = _affected_services(rng, world, service, impact)
    alerts, max_severity, title = _alerts(rng, problem, affected, impact, opened_at)
    local = opened_at.astimezone(zone)
    business_hours = local.weekday() < 5 and 9 <= local.hour < 18
    deploy_minutes = _deploy_minutes_before(rng, business_hours)
    changes = _changes(rng, world, service_name, opened_at, deploy_minutes)
    minutes_open = float(rng.exponential(8.0))
    recurrence = sum(1 for past in similar if past.opened_at >= opened_at - timedelta(days=30))

    urgency = (
        _SEVERITY_POINTS[max_severity]
        + _TIER_POINTS[min(s.tier for s in affected)]
        + (1.4 + (0.5 if business_hours else 0.0) if any(s.customer_facing for s in affected) else 0.0)
        + 0.7 * math.log2(len(alerts))
        + 0.5 * min(len(affected) - 1, 2)
        + (0.9 if deploy_minutes is not None and deploy_minutes <= 15 else 0.0)
        + (0.5 if deploy_minutes is not None and 15 < deploy_minutes <= 60 else 0.0)
        - 0.25 * min(recurrence, 6)
        + 0.6 * impact
        + (0.3 if minutes_open > 30 else 0.0)
        + float(rng.normal(0.0, 0.5))
    )
    priority = _priority(rng, urgency)

    facts = IncidentFacts(
        opened_at=opened_at,
        now=opened_at + timedelta(minutes=minutes_open),
        alerts=alerts,
        services=tuple(s for s in affected if s.name in world.catalog),
        recent_changes=None if rng.random() < 0.08 else changes,
        similar_incidents=similar,
        peak_anomaly_score=None if rng.random() < 0.35 else _anomaly_score(rng, impact),
        team_timezone=None if rng.random() < 0.05 else zone,
    )
    record = _record(rng, world, family, number, title, service_name, priority, opened_at, deploy_minutes)
    return SyntheticIncident(record=record, facts=facts, priority=priority)


def _anomaly_score(rng: np.random.Generator, impact: float) -> float:
    """A noisy view of the latent impact on engine.detection's scale: a deviation of z standard
    deviations has tail probability p, and the score is -log10(p) / 8 clipped to 0..1."""
    z = max(0.0, float(rng.normal(3 + 1.5 * impact, 0.7)))
    tail_probability = 0.5 * math.erfc(z / math.sqrt(2))
    return min(1.0, max(0.0, -math.log10(max(tail_probability, 1e-300)) / ANOMALY_SCORE_DECADES))


def _affected_services(
    rng: np.random.Generator, world: World, service: Service, impact: float
) -> tuple[Service, ...]:
    neighbours = sorted(world.catalog.dependents(service.name) | set(service.depends_on))
    extra = min(len(neighbours), int(rng.poisson(0.3 + 0.4 * max(impact, 0.0))))
    chosen: list[int] = rng.choice(len(neighbours), size=extra, replace=False).tolist() if extra else []
    return (service, *(world.services[neighbours[i]][0] for i in chosen))


def _alerts(
    rng: np.random.Generator,
    problem: ProblemType,
    affected: Sequence[Service],
    impact: float,
    opened_at: datetime,
) -> tuple[tuple[Alert, ...], Severity, str]:
    weights = np.asarray(problem.severity_weights, dtype=float)
    worst = Severity(int(rng.choice(4, p=weights / weights.sum())) + 1)
    if impact > 1.0 and worst < Severity.CRITICAL and rng.random() < 0.5:
        worst = Severity(worst + 1)
    count = 1 + min(59, int(rng.poisson(math.exp(0.6 + 0.5 * impact + 0.3 * (len(affected) - 1)))))
    host_pool = [
        f"{service.name}-{index}" for service in affected for index in range(1 + int(rng.integers(0, 4)))
    ]
    hosts = [host_pool[int(i)] for i in rng.integers(0, len(host_pool), size=count)]
    title = problem.title.format(service=affected[0].name, host=hosts[0], n=int(rng.integers(80, 99)))
    host_labelled = rng.random(count) >= 0.08
    severities = rng.integers(1, worst + 1, size=count)
    severities[0] = worst  # the worst alert is the one that opened the incident
    lead_seconds = rng.integers(0, 300, size=count)
    alerts = []
    for index, host in enumerate(hosts):
        labels = {"alertname": problem.alert_name, "service": host.rsplit("-", 1)[0]}
        if host_labelled[index]:
            labels["host"] = host
        alerts.append(
            Alert(
                fingerprint=f"{problem.alert_name}-{host}-{index}",
                name=problem.alert_name,
                status=AlertStatus.FIRING,
                severity=Severity(int(severities[index])),
                labels=labels,
                annotations={"summary": title},
                starts_at=opened_at - timedelta(seconds=int(lead_seconds[index])),
            )
        )
    return tuple(alerts), worst, title


def _deploy_minutes_before(rng: np.random.Generator, business_hours: bool) -> float | None:
    if rng.random() < (0.35 if business_hours else 0.10):
        return float(rng.uniform(1, 60))
    return None


def _changes(
    rng: np.random.Generator, world: World, service: str, opened_at: datetime, deploy_minutes: float | None
) -> tuple[ChangeEvent, ...]:
    changes = []
    if deploy_minutes is not None:
        changes.append(_change(service, opened_at - timedelta(minutes=deploy_minutes)))
    elif rng.random() < 0.2:
        # An older deploy of the same service: a change, but not in the hour before.
        changes.append(_change(service, opened_at - timedelta(minutes=float(rng.uniform(61, 360)))))
    unrelated = sorted(world.services)
    for index in rng.integers(0, len(unrelated), size=int(rng.poisson(2))):
        at = opened_at - timedelta(minutes=float(rng.uniform(-30, 120)))
        if unrelated[int(index)] != service:
            changes.append(_change(unrelated[int(index)], at))
    return tuple(changes)


def _change(service: str, at: datetime) -> ChangeEvent:
    return ChangeEvent(service=service, kind="deploy", who="ci", what=f"deploy {service}", at=at)


def _priority(rng: np.random.Generator, urgency: float) -> Priority:
    level = 5 - sum(1 for cut in _PRIORITY_CUTS if urgency >= cut)
    roll = rng.random()
    if roll < 0.02:
        level -= 1
    elif roll < 0.04:
        level += 1
    return Priority(min(5, max(1, level)))


def _record(
    rng: np.random.Generator,
    world: World,
    family: int,
    number: int,
    title: str,
    service: str,
    priority: Priority,
    opened_at: datetime,
    deploy_minutes: float | None,
) -> PastIncident:
    _, problem = world.families[family]
    difficulty = float(world.family_difficulty[family])
    ack = opened_at + timedelta(minutes=_MINUTES_TO_ACK[priority] * float(rng.lognormal(0, 0.5)))
    resolve_minutes = _MINUTES_TO_RESOLVE[priority] * difficulty * float(rng.lognormal(0, 0.6))
    resolved = max(ack, opened_at + timedelta(minutes=resolve_minutes))
    if deploy_minutes is not None and rng.random() < 0.6:
        resolution = "Rolled back the latest deploy"
    else:
        resolution = problem.resolutions[int(rng.integers(0, len(problem.resolutions)))]
    return PastIncident(
        id=f"INC-{number:06d}",
        title=title,
        service=service,
        priority=priority,
        opened_at=opened_at,
        acknowledged_at=ack,
        resolved_at=resolved,
        resolution=resolution,
        playbook=problem.playbook if rng.random() < 0.7 else None,
    )


def write_csv(incidents: Iterable[SyntheticIncident], path: Path) -> int:
    """Write the `import-incidents` CSV; return the number of rows."""
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_HEADER)
        for incident in incidents:
            r = incident.record
            writer.writerow(
                (
                    r.id,
                    r.title,
                    r.service or "",
                    r.priority.name if r.priority else "",
                    _iso(r.opened_at),
                    _iso(r.acknowledged_at),
                    _iso(r.resolved_at),
                    r.resolution or "",
                    r.playbook or "",
                )
            )
            rows += 1
    return rows


def write_catalog(services: Catalog, path: Path) -> None:
    """Write the catalog in the services.yaml format (the legacy services stay out of it)."""
    document = {
        "services": [
            {
                "name": s.name,
                "tier": s.tier,
                "customer_facing": s.customer_facing,
                "owner": s.owner,
                "depends_on": list(s.depends_on),
            }
            for s in services.services.values()
        ]
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="incidents to generate")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--csv", type=Path, help="write the import-incidents CSV here")
    parser.add_argument("--catalog", type=Path, help="write the services.yaml catalog here")
    args = parser.parse_args(argv)
    services, incidents = generate_history(args.count, seed=args.seed)
    mix = Counter(incident.priority.name for incident in incidents)
    print(
        f"{len(incidents)} incidents, {incidents[0].record.opened_at:%Y-%m-%d} .. "
        f"{incidents[-1].record.opened_at:%Y-%m-%d}; priorities: "
        + ", ".join(f"{p.name} {mix[p.name] / len(incidents):.1%}" for p in Priority)
    )
    if args.csv:
        print(f"wrote {write_csv(incidents, args.csv)} rows to {args.csv}")
    if args.catalog:
        write_catalog(services, args.catalog)
        print(f"wrote {len(services)} services to {args.catalog}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
