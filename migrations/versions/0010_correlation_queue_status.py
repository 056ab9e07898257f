"""correlation queue status: whether each queued delivery was firing or resolved

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 00:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("correlation_queue") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("correlation_queue") as batch:
        batch.drop_column("status")
