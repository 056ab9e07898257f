"""rollup watermarks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rollup_state',
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('watermark', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', engine.storage.types.Instant(), nullable=False),
    sa.PrimaryKeyConstraint('level', name=op.f('pk_rollup_state'))
    )


def downgrade() -> None:
    op.drop_table('rollup_state')
