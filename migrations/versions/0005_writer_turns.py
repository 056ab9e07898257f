"""writer turns: which replica's correlator decided last

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 00:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "writer_turns",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_writer_turns")),
    )


def downgrade() -> None:
    op.drop_table("writer_turns")
