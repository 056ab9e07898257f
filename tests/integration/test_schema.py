"""The alembic migrations create exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.schema import metadata


async def test_migrations_match_the_declared_schema(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)  # idempotent: every start runs it
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
        current, head = await migrate.current_and_head(engine)
    finally:
        await engine.dispose()
    assert diff == []
    assert current == head
