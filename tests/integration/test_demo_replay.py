"""The demo scenario replayed through the real HTTP ingestion, as fast as it goes: the outage is one
incident, the disk fill is predicted before it breaches, the flapping alert stays one incident, and
alerts outnumber incidents at least five to one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
import orjson

from bot.commands.replay import ReplayReport, send_all
from bot.demo.scenario import DEFAULT_DIRECTORY, load_scenario
from bot.demo.summary import IncidentBoard, ReplayTally
from bot.settings import Settings
from engine.clock import FixedClock
from integrations.payload import parse_iso
from integrations.recordings import starting_at
from tests.conftest import TOKEN, AppClient, auth


async def _all(client: AppClient, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = f"{path}?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(query, headers=auth())).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def _time(text: str) -> datetime:
    moment = parse_iso(text)
    assert moment is not None
    return moment


async def test_the_demo_scenario_clusters_predicts_and_reduces_noise(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock
) -> None:
    scenario = load_scenario()
    manifest = orjson.loads((DEFAULT_DIRECTORY / "scenario.json").read_bytes())
    client = await make_client(
        settings.replace(catalog_path=scenario.catalog_path, metric_limits=scenario.metric_limits), clock
    )
    start = scenario.replay_start(clock.now())
    events = list(starting_at(scenario.events(), start))
    tally, report = ReplayTally(), ReplayReport()
    async with aiohttp.ClientSession(
        base_url=str(client.make_url("/")), headers={"Authorization": f"Bearer {TOKEN}"}
    ) as session:
        await send_all(session, iter(events), 0, report, on_sent=tally.observe)
    assert report.rejected == []

    alerts = await _all(client, "/api/v1/alerts")
    incident_of = {(a["fingerprint"], _time(a["starts_at"])): a["incident_id"] for a in alerts}
    shift = start - scenario.start

    def incidents_of(story: str) -> set[int]:
        keys = [key.split("@") for key in manifest["stories"][story]]
        return {incident_of[(fp, _time(at) + shift)] for fp, at in keys}

    outage = incidents_of("outage")
    assert len(outage) == 1, f"the outage went into incidents {sorted(outage)}"
    incidents = {i["id"]: i for i in await _all(client, "/api/v1/incidents")}
    assert incidents[next(iter(outage))]["alert_count"] >= 10

    flapping = incidents_of("flapping")
    assert len(flapping) <= 2, f"the flapping alert opened {len(flapping)} incidents"

    target = manifest["predicted_breach"]
    crossing = min(
        point["ts"]
        for e in events
        if e.kind == "metrics"
        for point in e.body
        if point["metric"] == target["metric"]
        and point["labels"] == target["labels"]
        and point["value"] >= target["limit"]
    )
    predicted = [
        a
        for a in alerts
        if a["name"] == "PredictedBreach" and a["labels"].get("host") == target["labels"]["host"]
    ]
    assert predicted, "no PredictedBreach alert for the disk"
    lead = crossing - min(_time(a["starts_at"]).timestamp() for a in predicted)
    assert lead >= 15 * 60, f"predicted only {lead / 60:.0f} min before the breach"
    assert not any(
        a["name"] == "PredictedBreach" and a["labels"].get("host") != target["labels"]["host"] for a in alerts
    ), "a steady disk was predicted to fill"

    board = IncidentBoard.of(incidents.values())
    assert tally.alerts == manifest["counts"]["alerts"]
    made = "; ".join(f"#{i['id']} {i['title']} ({i['alert_count']} alerts)" for i in board.incidents)
    assert tally.alerts / board.count >= 5, f"{tally.alerts} alerts became {board.count} incidents: {made}"
