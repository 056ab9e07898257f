"""Arbitrary JSON on every ingestion endpoint: never a 5xx, and a rejected body stores nothing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.keys import STORE
from engine.storage.schema import alerts, change_events, metric_points
from tests.conftest import AppClient, auth

ENDPOINTS = ["/api/v1/alerts/alertmanager", "/api/v1/alerts", "/api/v1/metrics", "/api/v1/changes"]

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
# bodies shaped like the real ones, with fields swapped for arbitrary values: reaches deeper code
near_misses = (
    st.fixed_dictionaries(
        {
            "alerts": st.lists(
                st.fixed_dictionaries(
                    {
                        "status": st.sampled_from(["firing", "resolved"]) | json_values,
                        "labels": st.dictionaries(
                            st.sampled_from(["alertname", "severity", "service"]),
                            st.text(max_size=5) | json_values,
                        ),
                        "startsAt": st.sampled_from(["2026-11-11T00:00:00Z", "0001-01-01T00:00:00Z"])
                        | json_values,
                    }
                ),
                max_size=3,
            )
        }
    )
    | st.lists(
        st.fixed_dictionaries(
            {
                "metric": st.sampled_from(["cpu", "m_1"]) | json_values,
                "ts": st.integers(min_value=-10, max_value=10**12) | json_values,
                "value": st.floats(allow_nan=False) | json_values,
                "labels": st.dictionaries(st.text(max_size=5), st.text(max_size=5) | json_values, max_size=2),
            }
        ),
        max_size=3,
    )
    | st.fixed_dictionaries(
        {
            "name": st.text(max_size=5) | json_values,
            "severity": st.sampled_from(["info", "bad"]) | json_values,
            "service": st.text(max_size=5) | json_values,
            "who": json_values,
            "what": json_values,
        }
    )
)


async def stored(client: AppClient) -> int:
    async with client.app[STORE].engine.connect() as conn:
        total = 0
        for table in (alerts, metric_points, change_events):
            total += int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
        return total


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | near_misses, endpoint=st.sampled_from(ENDPOINTS))
async def test_no_5xx_and_nothing_partial(client: AppClient, body: Any, endpoint: str) -> None:
    before = await stored(client)
    # stdlib json: it writes integers of any size, which the server must refuse cleanly
    data = json.dumps(body).encode()
    response = await client.post(endpoint, data=data, headers={**auth(), "Content-Type": "application/json"})
    assert response.status < 500, await response.text()
    if response.status >= 400:
        assert "error" in await response.json()
        assert await stored(client) == before
