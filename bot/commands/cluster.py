"""`nocbot cluster`: replay recorded Alertmanager deliveries through dedup and clustering.

Each line of the input is one Alertmanager alert object as delivered by a webhook; the output has
one line per input line, `{"alert_index": i, "incident": id}`, the incident the service would have
put that delivery in. Deliveries' own timestamps are the clock, so a replay decides exactly what the
live service decides.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.catalog import Catalog, CatalogError, load_catalog
from engine.clustering import AlertCorrelator, ClusteringConfig, label_fingerprint
from engine.clustering.replay import replay
from engine.models import Alert, AlertSource, AlertStatus, Severity
from integrations.payload import (
    PayloadError,
    expect_object,
    optional_text,
    required,
    string_map,
    timestamp,
)


class InputError(ValueError):
    """A line of the input cannot be used; the message names the file, the line and the reason."""


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "cluster",
        help="group recorded Alertmanager deliveries into incidents",
        description="Replay Alertmanager deliveries (one JSON alert per line) through dedup and "
        "clustering, writing the incident of every line.",
    )
    parser.add_argument("--input", required=True, type=Path, help="alerts.jsonl: one delivery per line")
    parser.add_argument("--catalog", type=Path, help="services.yaml: the service catalog (dependencies)")
    parser.add_argument("--output", required=True, type=Path, help="where to write assignments.jsonl")
    parser.add_argument(
        "--explain", action="store_true", help="add the outcome and the reason to every output line"
    )
    return "cluster"


def run(args: argparse.Namespace) -> int:
    try:
        catalog = load_catalog(args.catalog) if args.catalog else Catalog.empty()
        lines = cluster_file(args.input, catalog, explain=args.explain)
    except (CatalogError, InputError) as exc:
        print(f"nocbot cluster: {exc}", file=sys.stderr)
        return 1
    try:
        write_lines(args.output, lines)
    except OSError as exc:
        print(f"nocbot cluster: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 1
    incidents = len({line["incident"] for line in lines})
    print(f"{len(lines)} deliveries -> {incidents} incidents, written to {args.output}", file=sys.stderr)
    return 0


def cluster_file(
    path: Path, catalog: Catalog, *, config: ClusteringConfig | None = None, explain: bool = False
) -> list[dict[str, Any]]:
    """One output record per input line; raises InputError at the first unusable line.

    When a later alert merges incidents, the lines already written for the merged ones are moved
    to the surviving incident, as the service moves their rows.
    """
    engine = AlertCorrelator(config, catalog)
    lines: list[dict[str, Any]] = []
    merged_into: dict[int, int] = {}
    for index, decision in enumerate(replay(read_deliveries(path), engine)):
        for closure in decision.merged_incidents:
            if closure.merged_into is not None:
                merged_into[closure.incident_id] = closure.merged_into
        line: dict[str, Any] = {"alert_index": index, "incident": decision.incident_id}
        if explain:
            line["outcome"] = decision.outcome.value
            line["notify"] = decision.notify
            line["why"] = decision.explanation.sentence()
        lines.append(line)
    for line in lines:
        line["incident"] = _surviving(line["incident"], merged_into)
    return lines


def _surviving(incident: int, merged_into: dict[int, int]) -> int:
    while incident in merged_into:
        incident = merged_into[incident]
    return incident


def read_deliveries(path: Path) -> Iterator[Alert]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            if not raw.strip():
                raise InputError(f"{where}: empty line (expected one JSON alert per line)")
            try:
                document = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: not valid JSON: {exc.msg} at column {exc.colno}") from None
            try:
                yield parse_delivery(document)
            except PayloadError as exc:
                raise InputError(f"{where}: {exc}") from None


def parse_delivery(document: Any) -> Alert:
    """An Alertmanager alert object (webhook `alerts[]` item) as an engine Alert."""
    doc = expect_object(document, "alert")
    labels = string_map(doc, "labels", "alert", required_key=True)
    name = labels.get("alertname")
    if not name:
        raise PayloadError("alert.labels.alertname", "is required")
    annotations = string_map(doc, "annotations", "alert")
    raw_status = doc.get("status", "firing")
    try:
        status = AlertStatus(raw_status)
    except ValueError:
        raise PayloadError("alert.status", f"expected 'firing' or 'resolved', got {raw_status!r}") from None
    starts_at = timestamp(required(doc, "startsAt", "alert"), "alert.startsAt")
    ends_at = None
    if doc.get("endsAt") not in (None, ""):
        ends_at = timestamp(doc["endsAt"], "alert.endsAt")
        if ends_at.year <= 1:
            ends_at = None  # Go's zero time: Alertmanager's way of saying "not ended"
        elif ends_at < starts_at:
            raise PayloadError("alert.endsAt", "is before startsAt")
    fingerprint = optional_text(doc, "fingerprint", "alert", max_length=200) or label_fingerprint(labels)
    return Alert(
        fingerprint=fingerprint,
        name=name,
        status=status,
        severity=_severity(labels.get("severity")),
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at,
        source=AlertSource.ALERTMANAGER,
        generator_url=optional_text(doc, "generatorURL", "alert"),
    )


def write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    """Write atomically: a failed run never leaves half an output file behind."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(json.dumps(line) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _severity(raw: str | None) -> Severity:
    # Severity does not change how alerts group; an unfamiliar spelling is not worth rejecting input.
    if raw is None:
        return Severity.WARNING
    try:
        return Severity.parse(raw)
    except ValueError:
        return Severity.WARNING
