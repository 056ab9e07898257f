"""The order of an answer's rows, the same on both databases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression


def key_order(keys: Sequence[ColumnElement[Any]]) -> list[UnaryExpression[Any]]:
    # PostgreSQL sorts NULL last and SQLite first unless told: a missing label or playbook goes last
    return [key.asc().nulls_last() for key in keys]
