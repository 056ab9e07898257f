from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.commands import cluster

FIRING = {
    "status": "firing",
    "labels": {
        "alertname": "HighErrorRate", "service": "payments", "pod": "payments-1", "severity": "critical",
    },
    "annotations": {"summary": "payments failing"},
    "startsAt": "2026-11-22T10:00:00.000Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "fingerprint": "aaaa000000000001",
}


def run(tmp_path: Path, lines: list[str], *, catalog: str | None = None) -> tuple[int, Path]:
    source = tmp_path / "alerts.jsonl"
    source.write_text("".join(line + "\n" for line in lines))
    output = tmp_path / "assignments.jsonl"
    argv = ["cluster", "--input", str(source), "--output", str(output)]
    if catalog is not None:
        (tmp_path / "services.yaml").write_text(catalog)
        argv += ["--catalog", str(tmp_path / "services.yaml")]
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command")
    assert cluster.add_parser(subparsers) == "cluster"
    return cluster.run(parser.parse_args(argv)), output


def test_every_input_line_gets_its_incident(tmp_path: Path) -> None:
    labels = {"alertname": "HighErrorRate", "service": "checkout", "pod": "checkout-1"}
    dependent = {**FIRING, "fingerprint": "aaaa000000000002", "labels": labels,
                 "startsAt": "2026-11-22T10:00:40.000Z"}
    resolved = {**FIRING, "status": "resolved", "endsAt": "2026-11-22T10:05:00.000Z"}
    lines = [json.dumps(FIRING), json.dumps(FIRING), json.dumps(dependent), json.dumps(resolved)]
    catalog = "services:\n  - name: payments\n  - name: checkout\n    depends_on: [payments]\n"
    status, output = run(tmp_path, lines, catalog=catalog)
    assert status == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["alert_index"] for row in rows] == [0, 1, 2, 3]
    assert len({row["incident"] for row in rows}) == 1


def test_missing_fingerprint_is_computed_like_alertmanager(tmp_path: Path) -> None:
    without = {k: v for k, v in FIRING.items() if k != "fingerprint"}
    status, output = run(tmp_path, [json.dumps(without), json.dumps(without)])
    assert status == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert rows[0]["incident"] == rows[1]["incident"]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({**FIRING, "labels": {"service": "payments"}}), "labels.alertname: is required"),
        (json.dumps({**FIRING, "startsAt": "yesterday"}), "alert.startsAt: not an ISO 8601 time"),
        (json.dumps({**FIRING, "status": "pending"}), "alert.status"),
        (json.dumps([1, 2]), "expected an object"),
        ("", "empty line"),
    ],
)
def test_bad_input_names_the_line_and_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad_line: str, reason: str
) -> None:
    status, output = run(tmp_path, [json.dumps(FIRING), bad_line])
    assert status != 0
    message = capsys.readouterr().err
    assert "alerts.jsonl:2:" in message
    assert reason in message
    assert not output.exists()


def test_bad_catalog_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = "services:\n  - name: a\n    depends_on: [nope]\n"
    status, _ = run(tmp_path, [json.dumps(FIRING)], catalog=broken)
    assert status == 1
    assert "unknown service 'nope'" in capsys.readouterr().err


def test_parse_delivery_reads_alertmanager_fields() -> None:
    nanoseconds = "2026-11-22T10:05:00.123456789Z"  # Go writes them; Python reads microseconds
    parsed = cluster.parse_delivery({**FIRING, "status": "resolved", "endsAt": nanoseconds})
    assert parsed.fingerprint == "aaaa000000000001"
    assert parsed.ends_at is not None and parsed.ends_at.minute == 5
    assert cluster.parse_delivery(FIRING).ends_at is None  # Go's zero time
