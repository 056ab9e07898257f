"""`nocbot rollup` and `nocbot ask` against a real database, as a user runs them."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.commands import ask, rollup
from engine.models import MetricPoint, PointBatch
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.store import Store

NOW = datetime(2026, 4, 8, 10, 0, tzinfo=UTC)


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="nocbot")
    commands = parser.add_subparsers(dest="command")
    modules = {ask.add_parser(commands): ask, rollup.add_parser(commands): rollup}
    args = parser.parse_args(argv)
    result: int = modules[args.command].run(args)
    return result


async def cli(*argv: str) -> int:
    # the commands own their event loop (asyncio.run), so run them off this one
    return await asyncio.to_thread(run, *argv)


@pytest.fixture
async def database(database_url: str) -> str:
    engine = open_engine(database_url)
    try:
        await migrate.upgrade(engine)
        start = (NOW - timedelta(days=3)).timestamp()
        points = [
            MetricPoint("cpu_usage", {"host": host}, start + i * 60, float(10 + i % 50))
            for host in ("web-1", "web-2")
            for i in range(3 * 1440)
        ]
        await Store(engine).ingest_points(PointBatch.from_points(points), NOW)
    finally:
        await engine.dispose()
    return database_url


async def test_rollup_then_ask_as_json(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("rollup", "--db", database, "--now", NOW.isoformat()) == 0
    out = capsys.readouterr().out
    assert "5m:" in out and "1h:" in out and "1d:" in out
    assert (
        await cli("ask", "--db", database, "--now", NOW.isoformat(), "--json", "max cpu by host yesterday")
        == 0
    )
    reply = json.loads(capsys.readouterr().out)
    assert set(reply) == {
        "question",
        "answer",
        "time_range",
        "resolution",
        "sql",
        "params",
        "columns",
        "rows",
    }
    assert reply["time_range"] == {"start": "2026-04-07T00:00:00+00:00", "end": "2026-04-08T00:00:00+00:00"}
    assert reply["resolution"] == "1d"
    assert reply["columns"] == ["host", "max"] and reply["rows"] == [["web-1", 59.0], ["web-2", 59.0]]
    assert "web-1" not in reply["sql"] and "cpu_usage" in reply["params"].values()


async def test_ask_in_words(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        await cli("ask", "--db", database, "--now", "2026-04-08T10:00:00Z", "average cpu on web-2 today") == 0
    )
    out = capsys.readouterr().out
    assert "average of cpu_usage for host web-2 today" in out and "34.5" in out


async def test_a_question_it_cannot_answer_exits_2(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("ask", "--db", database, "--json", "average cpuu yesterday") == 2
    reply = json.loads(capsys.readouterr().out)
    assert reply["error"] == "I don't know 'cpuu' — did you mean 'cpu_usage'?"
    assert reply["suggestions"][0] == "average cpu_usage yesterday"
    assert await cli("ask", "--db", database, "fan speed?") == 2
    assert "I don't know 'fan'" in capsys.readouterr().err


async def test_bad_options_are_one_line_errors(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("ask", "--db", database, "--now", "yesterday-ish", "cpu") == 1
    assert "--now" in capsys.readouterr().err
    assert await cli("rollup", "--db", database, "--keep-raw", "forever") == 1
    assert "--keep-raw" in capsys.readouterr().err


async def test_prune_is_its_own_step(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("rollup", "--db", database, "--prune", "--now", NOW.isoformat()) == 0
    assert "raw: deleted 0 rows" in capsys.readouterr().out  # nothing rolled up yet: nothing may go
    assert await cli("rollup", "--db", database, "--now", NOW.isoformat()) == 0
    assert (
        await cli("rollup", "--db", database, "--prune", "--keep-raw", "24h", "--now", NOW.isoformat()) == 0
    )
    deleted = capsys.readouterr().out
    assert "raw: deleted 0 rows" not in deleted and "1d: deleted 0 rows" in deleted


def test_metric_catalog_errors_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "metrics.yaml"
    catalog.write_text("not: [a catalog\n")
    db = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert run("ask", "--db", db, "--metric-catalog", str(catalog), "cpu") == 1
    assert "metrics.yaml" in capsys.readouterr().err
