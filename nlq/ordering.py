"""The order of an answer's rows, the same on both databases, and how many a ranking reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression

from nlq.ast import Ranking
from nlq.compiled import Limits


def key_order(keys: Sequence[ColumnElement[Any]]) -> list[UnaryExpression[Any]]:
    # PostgreSQL sorts NULL last and SQLite first unless told: a missing label or playbook goes last
    return [key.asc().nulls_last() for key in keys]


def ranked_rows(ranking: Ranking, limits: Limits) -> int:
    """The LIMIT of "top N": at most one row more than an answer holds (`finish` refuses those),
    which also keeps "top 100000000000000000000" a number the databases bind (64-bit)."""
    return min(ranking.limit, limits.max_rows + 1)
