"""The CLI against a real database: migrate, importers (all or nothing), replay against a server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from engine.storage.database import open_engine
from engine.storage.schema import alerts, incidents, metric_points
from tests.conftest import TOKEN, AppClient

SCENARIO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "scenarios" / "shop-day1"


async def count(database_url: str, table: object) -> int:
    engine = open_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def run_cli(*argv: str) -> int:
    # the commands own their event loop (asyncio.run), so run them off this one
    return await asyncio.to_thread(main, list(argv))


async def test_migrate(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("migrate", "--db", database_url) == 0
    assert "revision" in capsys.readouterr().out


async def test_import_metrics_all_or_nothing(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "points.csv"
    rows = ["timestamp,metric,value,host"] + [
        f"{1794394800 + i * 60},cpu_usage,{i % 97},web-{i % 3}" for i in range(12000)
    ]
    good.write_text("\n".join(rows) + "\n")
    assert await run_cli("import-metrics", str(good), "--db", database_url) == 0
    assert "imported 12000 points" in capsys.readouterr().out
    assert await count(database_url, metric_points) == 12000

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "\n".join(
            rows[:1] + [f"{1894394800 + i},other,{i},web-9" for i in range(9000)] + ["oops,other,1,web-9"]
        )
        + "\n"
    )
    assert await run_cli("import-metrics", str(bad), "--db", database_url) == 1
    err = capsys.readouterr().err
    assert "bad.csv:9002" in err and "nothing was imported" in err
    assert (
        await count(database_url, metric_points) == 12000
    )  # the 9,000 good lines before it were rolled back


async def test_import_incidents(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "history.jsonl"
    history.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"INC-{i}",
                    "title": "Checkout errors",
                    "service": "checkout",
                    "priority": "P2",
                    "opened_at": "2026-10-01T10:00:00Z",
                    "resolved_at": "2026-10-01T11:00:00Z",
                    "resolution": "rolled back",
                    "playbook": None,
                }
            )
            for i in range(50)
        )
    )
    assert await run_cli("import-incidents", str(history), "--db", database_url) == 0
    assert "imported 50 incidents (0 already stored)" in capsys.readouterr().out
    assert await run_cli("import-incidents", str(history), "--db", database_url) == 0
    assert "imported 0 incidents (50 already stored)" in capsys.readouterr().out
    assert await count(database_url, incidents) == 50


async def test_import_of_a_missing_file_is_one_clear_line(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("import-metrics", "/nonexistent.csv", "--db", database_url) == 1
    assert "No such file" in capsys.readouterr().err


async def test_replay_a_scenario_against_the_server(
    client: AppClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not SCENARIO.exists():
        pytest.skip("shared scenarios not present")
    monkeypatch.setenv("NOCBOT_INGEST_TOKEN", TOKEN)
    url = str(client.make_url("/"))
    assert await run_cli("replay", str(SCENARIO / "alerts.jsonl"), "--url", url, "--speed", "0") == 0
    summary = json.loads((SCENARIO / "summary.json").read_text())
    assert await count(database_url, alerts) == summary["alerts"]
