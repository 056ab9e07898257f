"""Every table nocbot stores, as SQLAlchemy Core metadata; identical on PostgreSQL and SQLite.

Times are `Instant` (epoch microseconds). Metric point and rollup times are plain integers for the
same reason and because those tables are the hot path. The alembic migrations in `migrations/`
create exactly this schema (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

from engine.storage.types import Instant

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

Json = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only auto-increments INTEGER keys


alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False),
    Column("starts_at", Instant, nullable=False),
    Column("ends_at", Instant),
    Column("status", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("severity", SmallInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("service", String(200)),
    Column("labels", Json, nullable=False),
    Column("annotations", Json, nullable=False),
    Column("generator_url", Text),
    Column("received_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    UniqueConstraint("fingerprint", "starts_at"),
    Index(None, "status", "starts_at"),
    Index(None, "service", "starts_at"),
    Index(None, "starts_at"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("origin", String(16), nullable=False),  # nocbot | imported
    Column("external_id", String(200), unique=True),  # id in the imported history
    Column("service", String(200)),  # the service the incident is chiefly about
    Column("services", Json, nullable=False),
    Column("priority", SmallInteger),  # 1..5 (P1..P5)
    Column("priority_source", String(16)),  # model | rules | responder | pagerduty | imported
    Column("score", Float),
    Column("scorer", String(64)),
    Column("reasons", Json, nullable=False),
    Column("enrichment", Json, nullable=False),
    Column("alert_count", Integer, nullable=False),
    Column("opened_at", Instant, nullable=False),
    Column("acknowledged_at", Instant),
    Column("acknowledged_by", String(200)),
    Column("resolved_at", Instant),
    Column("resolved_by", String(200)),
    Column("auto_resolved", Boolean, nullable=False),
    Column("resolution", Text),
    Column("playbook", String(200)),
    Column("updated_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),  # bumped on every change a card must show
    Index(None, "status", "opened_at"),
    Index(None, "service", "opened_at"),
    Index(None, "opened_at"),
    # ids are reserved ahead in blocks (engine.storage.incident_ids); AUTOINCREMENT makes SQLite
    # honour the reservation instead of reusing max(id) + 1
    sqlite_autoincrement=True,
)

incident_alerts = Table(
    "incident_alerts",
    metadata,
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("joined_at", Instant, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("evidence", Json, nullable=False),
    Index(None, "incident_id"),
)

cluster_corrections = Table(
    "cluster_corrections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # split | merge
    Column("alert_id", ForeignKey("alerts.id", ondelete="SET NULL")),
    Column("from_incident_id", ForeignKey("incidents.id", ondelete="SET NULL")),
    Column("to_incident_id", ForeignKey("incidents.id", ondelete="SET NULL")),
    Column("actor", String(200), nullable=False),
    Column("at", Instant, nullable=False),
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("at", Instant, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(200)),
    Column("text", Text, nullable=False),
    Column("detail", Json, nullable=False),
    Index(None, "incident_id", "at"),
)

metric_series = Table(
    "metric_series",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("series_key", String(64), nullable=False, unique=True),  # sha256 of metric + labels
    Column("metric", String(200), nullable=False),
    Column("labels", Json, nullable=False),
    Column("created_at", Instant, nullable=False),
    Index(None, "metric"),
)

# The hot table: no foreign key (it costs ~45 % of insert throughput on PostgreSQL); series are
# never deleted while they have points, and retention deletes points by time.
metric_points = Table(
    "metric_points",
    metadata,
    Column("series_id", BigInteger, primary_key=True),
    Column("ts", BigInteger, primary_key=True),  # epoch milliseconds
    Column("value", Float, nullable=False),
)


def _rollup_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("series_id", ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True),
        Column("bucket", BigInteger, primary_key=True),  # bucket start, epoch seconds
        Column("count", BigInteger, nullable=False),
        Column("sum", Float, nullable=False),
        Column("min", Float, nullable=False),
        Column("max", Float, nullable=False),
        Column("sketch", LargeBinary, nullable=False),  # mergeable quantile sketch
        Index(None, "bucket"),
    )


rollup_5m = _rollup_table("rollup_5m")
rollup_1h = _rollup_table("rollup_1h")
rollup_1d = _rollup_table("rollup_1d")

detector_state = Table(
    "detector_state",
    metadata,
    Column("series_id", ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True),
    Column("state", LargeBinary, nullable=False),
    Column("updated_at", Instant, nullable=False),
)

# Detector ownership across replicas: series are split into a fixed number of partitions, each
# detected by the one replica holding its lease; a replica that receives points of a partition it
# does not own hands them over through the inbox (migration 0006).
detector_partitions = Table(
    "detector_partitions",
    metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(64)),
    Column("lease_until", Instant),
)

detector_replicas = Table(
    "detector_replicas",
    metadata,
    Column("replica", String(64), primary_key=True),
    Column("seen_until", Instant, nullable=False),
)

# one row per request and partition, the points as packed arrays: a row per point would make the
# hand-over cost as much as storing the points
detector_inbox = Table(
    "detector_inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("partition", Integer, nullable=False),
    Column("points", Integer, nullable=False),
    Column("series_ids", LargeBinary, nullable=False),  # int64, little-endian
    Column("ts", LargeBinary, nullable=False),  # float64 epoch seconds
    Column("values", LargeBinary, nullable=False),  # float64
    Index(None, "partition", "id"),
)

change_events = Table(
    "change_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("external_id", String(200), unique=True),
    Column("service", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("who", String(200), nullable=False),
    Column("what", Text, nullable=False),
    Column("at", Instant, nullable=False),
    Column("labels", Json, nullable=False),
    Column("received_at", Instant, nullable=False),
    Index(None, "service", "at"),
    Index(None, "at"),
)

services = Table(
    "services",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("tier", SmallInteger, nullable=False),
    Column("customer_facing", Boolean, nullable=False),
    Column("owner", String(200)),
    Column("runbook", Text),
    Column("depends_on", Json, nullable=False),
    Column("pagerduty_routing_key", String(64)),
    Column("updated_at", Instant, nullable=False),
)

silences = Table(
    "silences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("matchers", Json, nullable=False),
    Column("starts_at", Instant, nullable=False),
    Column("ends_at", Instant, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
    Index(None, "ends_at"),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("surface", String(16), nullable=False),  # slack | teams | console
    Column("channel", String(200), nullable=False),
    Column("message_id", String(200)),  # Slack ts / Teams activity id, once posted
    Column("thread_id", String(200)),
    Column("shown_version", Integer, nullable=False),  # incident version the message shows
    Column("posted_at", Instant),
    Column("updated_at", Instant),
    UniqueConstraint("incident_id", "surface", "channel"),
)

conversation_refs = Table(
    "conversation_refs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("surface", String(16), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("reference", Json, nullable=False),
    Column("updated_at", Instant, nullable=False),
    UniqueConstraint("surface", "channel"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("destination", String(32), nullable=False),  # slack | teams | pagerduty | playbook | console
    Column("kind", String(32), nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE")),
    Column("payload", Json, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Instant, nullable=False),
    Column("last_error", Text),
    Column("created_at", Instant, nullable=False),
    Column("sent_at", Instant),
    Index(None, "status", "next_attempt_at"),
    Index(None, "incident_id"),
)

playbook_runs = Table(
    "playbook_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("playbook", String(200), nullable=False),
    Column("params", Json, nullable=False),
    Column("status", String(24), nullable=False),
    # set while a run is not finished: one active run per incident and playbook, even across replicas
    Column("active_key", String(250), unique=True),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", Instant, nullable=False),
    Column("approved_by", String(200)),
    Column("approved_at", Instant),
    Column("started_at", Instant),
    Column("finished_at", Instant),
    Column("current_step", Integer),
    Column("error", Text),
    Column("revision", String(64)),  # sha256 of the playbook file the run was requested with
    # the replica executing a running run, and until when; an expired lease is taken over (0004)
    Column("worker", String(64)),
    Column("lease_until", Instant),
    Index(None, "incident_id"),
    Index(None, "status"),
)

playbook_steps = Table(
    "playbook_steps",
    metadata,
    Column("run_id", ForeignKey("playbook_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("started_at", Instant),
    Column("finished_at", Instant),
    Column("output", Text),
    Column("error", Text),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", ForeignKey("playbook_runs.id", ondelete="CASCADE"), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("surface", String(16), nullable=False),
    Column("decision", String(16), nullable=False),  # approved | denied | refused
    Column("at", Instant, nullable=False),
    Index(None, "run_id"),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("dedup_key", String(255), nullable=False, unique=True),
    Column("routing_key", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("external_incident_id", String(64)),
    Column("triggered_by", String(200), nullable=False),
    Column("triggered_at", Instant, nullable=False),
    Column("acknowledged_at", Instant),
    Column("resolved_at", Instant),
    Index(None, "incident_id"),
    Index(None, "external_incident_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Instant, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("surface", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("incident_id", ForeignKey("incidents.id", ondelete="SET NULL")),
    Column("detail", Json, nullable=False),
    Index(None, "incident_id"),
    Index(None, "at"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # priority | incident_forecast
    Column("version", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("metrics", Json, nullable=False),
    Column("details", Json, nullable=False),
    Column("artifact", LargeBinary, nullable=False),
    Column("created_at", Instant, nullable=False),
    UniqueConstraint("kind", "version"),
)

# How far each rollup level (5m, 1h, 1d) has been computed: the end of its last complete bucket. The
# next run rolls up the buckets completed from here on (and those of late points, rollup_late_points),
# and pruning never deletes source rows a level has not rolled up yet.
rollup_state = Table(
    "rollup_state",
    metadata,
    Column("level", String(8), primary_key=True),
    Column("watermark", BigInteger, nullable=False),  # epoch milliseconds
    Column("updated_at", Instant, nullable=False),
)

# Points stored behind the rollup's live window (engine/storage/rollup_rows.py, migration 0009): one
# row per batch holding such points, with the batch's earliest and latest of them (epoch ms). The
# next rollup run re-rolls their buckets and deletes the rows it used; live batches add nothing.
rollup_late_points = Table(
    "rollup_late_points",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("earliest", BigInteger, nullable=False),
    Column("latest", BigInteger, nullable=False),
)

# One deciding writer at a time across replicas (engine/storage/writer_turns.py, migration 0005).
writer_turns = Table(
    "writer_turns",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("epoch", BigInteger, nullable=False),
)

# Alerts stored by a replica that does not decide, waiting for the one that does (migration 0007).
correlation_queue = Table(
    "correlation_queue",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("outcome", String(16), nullable=False),  # new | updated | duplicate, as stored
    Column("queued_at", Instant, nullable=False),
    # the delivery's own status (migration 0010; NULL before): a firing delivery is decided as
    # firing even when its resolution was stored before the decider took it
    Column("status", String(16)),
)

# Alarms of the 30-minute incident forecaster and what became of each (migration 0008): a row is
# settled once its horizon has passed, with the major incident that opened in time, if any.
incident_forecasts = Table(
    "incident_forecasts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("service", String(200), nullable=False),
    Column("made_at", Instant, nullable=False),
    Column("horizon_until", Instant, nullable=False),
    Column("probability", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("outcome", String(16)),  # None until settled | incident | none
    Column("incident_id", ForeignKey("incidents.id", ondelete="SET NULL")),
    Column("onset_at", Instant),
    Column("settled_at", Instant),
    Index(None, "service", "made_at"),
    Index(None, "outcome", "horizon_until"),
    Index(None, "made_at"),
)

# Enrichment asks which neighbours of an incident's services are alerting right now: firing alerts
# by service, without walking every alert those services ever raised (migration 0003).
Index("ix_alerts_status_service", alerts.c.status, alerts.c.service)
