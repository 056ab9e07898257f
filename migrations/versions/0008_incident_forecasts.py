"""incident forecasts: alarms of the 30-minute incident forecaster and their outcomes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 07:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_forecasts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("made_at", engine.storage.types.Instant(), nullable=False),
        sa.Column("horizon_until", engine.storage.types.Instant(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("onset_at", engine.storage.types.Instant(), nullable=True),
        sa.Column("settled_at", engine.storage.types.Instant(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_forecasts_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_forecasts")),
    )
    op.create_index(
        op.f("ix_incident_forecasts_service_made_at"), "incident_forecasts", ["service", "made_at"], unique=False
    )
    op.create_index(
        op.f("ix_incident_forecasts_outcome_horizon_until"),
        "incident_forecasts",
        ["outcome", "horizon_until"],
        unique=False,
    )
    op.create_index(op.f("ix_incident_forecasts_made_at"), "incident_forecasts", ["made_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_forecasts_made_at"), table_name="incident_forecasts")
    op.drop_index(op.f("ix_incident_forecasts_outcome_horizon_until"), table_name="incident_forecasts")
    op.drop_index(op.f("ix_incident_forecasts_service_made_at"), table_name="incident_forecasts")
    op.drop_table("incident_forecasts")
