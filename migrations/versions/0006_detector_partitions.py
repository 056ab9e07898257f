"""detector partitions: which replica detects which series, and the hand-over inbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 03:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "detector_partitions",
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", engine.storage.types.Instant(), nullable=True),
        sa.PrimaryKeyConstraint("partition", name=op.f("pk_detector_partitions")),
    )
    op.create_table(
        "detector_replicas",
        sa.Column("replica", sa.String(length=64), nullable=False),
        sa.Column("seen_until", engine.storage.types.Instant(), nullable=False),
        sa.PrimaryKeyConstraint("replica", name=op.f("pk_detector_replicas")),
    )
    op.create_table(
        "detector_inbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("series_ids", sa.LargeBinary(), nullable=False),
        sa.Column("ts", sa.LargeBinary(), nullable=False),
        sa.Column("values", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detector_inbox")),
    )
    with op.batch_alter_table("detector_inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_detector_inbox_partition_id"), ["partition", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("detector_inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detector_inbox_partition_id"))
    op.drop_table("detector_inbox")
    op.drop_table("detector_replicas")
    op.drop_table("detector_partitions")
