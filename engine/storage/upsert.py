"""INSERT … ON CONFLICT in the dialect at hand (PostgreSQL and SQLite spell it the same way)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_ignoring_conflicts(conn: AsyncConnection, table: Table, index_elements: Sequence[str]) -> Any:
    return dialect_insert(conn, table).on_conflict_do_nothing(index_elements=list(index_elements))


def insert_or_update(
    conn: AsyncConnection, table: Table, index_elements: Sequence[str], update_columns: Sequence[str]
) -> Any:
    statement = dialect_insert(conn, table)
    return statement.on_conflict_do_update(
        index_elements=list(index_elements),
        set_={name: statement.excluded[name] for name in update_columns},
    )


def dialect_insert(conn: AsyncConnection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
