"""A complete enrichment with every section present, for the storage-format tests."""

from __future__ import annotations

from datetime import timedelta

from engine.enrichment import (
    AffectedServices,
    AlertBrief,
    Band,
    ChangeItem,
    Count,
    Enrichment,
    MetricContext,
    Neighbour,
    RecentChanges,
    RelatedAlerts,
    SeriesWindow,
    ServiceContext,
    SimilarIncident,
    SimilarIncidents,
)
from engine.enrichment.profile import IncidentProfile
from tests.unit.enrichment.builders import T0, at

BRIEF = AlertBrief("HighErrorRate", "checkout", "node-1", "error", "firing", T0, "5xx above 5 %")


def full_enrichment() -> Enrichment:
    return Enrichment(
        computed_at=at(minutes=3),
        alert_count=2,
        profile=IncidentProfile(("error", "high", "rate"), ("checkout",), ("env=prod",)),
        related_alerts=RelatedAlerts(
            total=2,
            firing=1,
            worst_severity="error",
            by_name=(Count("HighErrorRate", 2, 1),),
            by_service=(Count("checkout", 2, 1),),
            by_host=(Count("node-1", 2, 1),),
            first=BRIEF,
            latest=BRIEF,
            still_firing=(BRIEF,),
            truncated=False,
        ),
        recent_changes=RecentChanges(
            since=at(hours=-2),
            until=at(minutes=3),
            services=("checkout", "payments"),
            items=(
                ChangeItem("checkout", "deploy", "alice", "deploy 2.4.1", at(minutes=-10), "affected", 10.0),
            ),
            more=False,
            scope_note=None,
        ),
        similar_incidents=SimilarIncidents(
            items=(
                SimilarIncident(
                    7,
                    None,
                    "nocbot",
                    "High error rate on checkout",
                    "checkout",
                    at(days=-3),
                    2,
                    1800.0,
                    "rolled back",
                    "rollback-checkout",
                    0.91,
                    ("error", "high"),
                    ("checkout",),
                ),
            ),
            compared=120,
        ),
        affected_services=AffectedServices(
            services=(
                ServiceContext(
                    "checkout",
                    "service",
                    1,
                    True,
                    "team-checkout",
                    "https://rb/checkout",
                    (Neighbour("payments", 2, False),),
                    (Neighbour("frontend", 0, False),),
                ),
            ),
            not_in_catalog=("legacy",),
        ),
        metric_context=MetricContext(
            series_id=5,
            metric="http_errors",
            labels={"service": "checkout"},
            incident_start=T0,
            window=SeriesWindow((T0.timestamp() - 60, T0.timestamp()), (1.0, 9.5)),
            band=Band((T0.timestamp() - 60, T0.timestamp()), (0.5, 0.5), (1.5, 1.5), "baseline"),
            sparkline="▁█",
            reason="named by the alert X",
            deviation=12.5,
            candidates=3,
        ),
    )


def later(enrichment: Enrichment) -> Enrichment:
    return Enrichment(
        enrichment.computed_at + timedelta(minutes=1),
        enrichment.alert_count,
        enrichment.profile,
        enrichment.related_alerts,
        enrichment.recent_changes,
        enrichment.similar_incidents,
        enrichment.affected_services,
        enrichment.metric_context,
    )
