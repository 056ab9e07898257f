"""Silences over the API: created, listed, applied to new alerts (stored, not notified), expired."""

from __future__ import annotations

from typing import Any

from bot.keys import INGEST
from engine.clustering.silences import silencing
from engine.models import Alert, AlertSource, AlertStatus, Severity
from tests.conftest import AppClient, auth


async def test_silence_lifecycle_and_effect(client: AppClient) -> None:
    created = await client.post(
        "/api/v1/silences",
        json={
            "matchers": ["service=search", "alertname=~Disk.*"],
            "duration_minutes": 60,
            "created_by": "ana",
            "comment": "reindex",
        },
        headers=auth(),
    )
    assert created.status == 201
    silence_id = (await created.json())["id"]
    listed: list[dict[str, Any]] = (await (await client.get("/api/v1/silences", headers=auth())).json())[
        "items"
    ]
    assert [s["matchers"] for s in listed] == [["service=search", "alertname=~Disk.*"]]

    ingest = client.app[INGEST]
    now = ingest.clock.now()

    def disk_alert(fingerprint: str, service: str) -> Alert:
        return Alert(
            fingerprint=fingerprint,
            name="DiskFull",
            status=AlertStatus.FIRING,
            severity=Severity.WARNING,
            labels={"alertname": "DiskFull", "service": service},
            annotations={},
            starts_at=now,
            source=AlertSource.API,
        )

    in_force = await ingest.silences()  # what the correlator is given
    assert silencing(disk_alert("f1", "search"), in_force, now) == (str(silence_id),)
    assert silencing(disk_alert("f2", "payments"), in_force, now) == ()

    expired = await client.delete(f"/api/v1/silences/{silence_id}", headers=auth())
    assert expired.status == 200
    assert (await (await client.get("/api/v1/silences", headers=auth())).json())["items"] == []
    assert (await client.delete(f"/api/v1/silences/{silence_id}", headers=auth())).status == 404


async def test_bad_silences_are_400(client: AppClient) -> None:
    for body, field in [
        ({"matchers": [], "duration_minutes": 5, "created_by": "a"}, "matchers"),
        ({"matchers": ["service"], "duration_minutes": 5, "created_by": "a"}, "matchers[0]"),
        ({"matchers": ["a=~("], "duration_minutes": 5, "created_by": "a"}, "matchers[0]"),
        ({"matchers": ["a=b"], "created_by": "a"}, "duration_minutes"),
        ({"matchers": ["a=b"], "duration_minutes": 5}, "created_by"),
        (
            {
                "matchers": ["a=b"],
                "created_by": "a",
                "starts_at": "2026-11-11T10:00:00Z",
                "ends_at": "2026-11-11T09:00:00Z",
            },
            "ends_at",
        ),
    ]:
        response = await client.post("/api/v1/silences", json=body, headers=auth())
        assert response.status == 400, body
        assert (await response.json())["field"] == field, body
