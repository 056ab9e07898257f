"""Fixtures of the fault tests: a throwaway PostgreSQL database that several real replicas share."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from tests.conftest import template_copy
from tests.pg_server import PgServer

_names = itertools.count()


@pytest.fixture
async def pg_url(pg: PgServer) -> AsyncIterator[str]:
    """A freshly migrated database (a copy of the template), dropped afterwards even if a replica
    still holds connections to it."""
    async with template_copy(pg, f"nocbot_fault_{next(_names)}") as url:
        yield url
