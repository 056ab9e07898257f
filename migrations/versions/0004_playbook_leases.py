"""playbook runs: revision run, executing replica and its lease

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("playbook_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("worker", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", engine.storage.types.Instant(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("playbook_runs", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("worker")
        batch_op.drop_column("revision")
