"""Alembic migrations: one schema for PostgreSQL and SQLite (see engine/storage/schema.py)."""
