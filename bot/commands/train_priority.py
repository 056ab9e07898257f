"""`nocbot train-priority`: learn incident priorities from resolved incidents whose priority is known.

    nocbot train-priority [--db URL] [--force] [--model-dir DIR]

Learns from imported history and from incidents whose priority a responder set or confirmed. The
most recent 20 % of them are held out: the model never sees them in training, and its accuracy,
macro-F1 and confusion matrix are measured on them. The model is stored as a new version in the
database and becomes the active one only if it is not worse on that holdout than the active model
(judged by macro-F1), unless --force. Features use the service's catalog (NOCBOT_CATALOG) and time
zone (NOCBOT_TIMEZONE), so that they mean at training what they mean at scoring.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.commands.common import CommandError, add_db_option, guarded, load_settings
from bot.settings import Settings
from engine.catalog import Catalog, load_catalog
from engine.clock import SystemClock
from engine.models import Priority
from engine.scoring import (
    ActivationDecision,
    ClassificationMetrics,
    ModelArtifact,
    ModelLoadError,
    TrainingError,
    TrainingResult,
    TrainingSet,
    decide_activation,
    train_priority_model,
    write_model,
)
from engine.scoring.rich_progress import rich_training_progress
from engine.scoring.training import MIN_ROWS
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.model_rows import (
    PRIORITY_MODEL,
    DuplicateModelError,
    activate_model,
    active_version,
    load_active_model,
    lock_models,
    model_id_of,
    save_model,
)
from engine.storage.training_rows import TrainingIncidents, read_training_incidents, training_rows

COMMAND = "train-priority"


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        COMMAND,
        help="train the incident priority model from labelled incidents and activate it if not worse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_option(parser)
    parser.add_argument(
        "--force", action="store_true", help="activate the new model even if it is worse than the active one"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        metavar="DIR",
        help="also write the model as DIR/priority-VERSION.ubj (+ .json)",
    )
    return COMMAND


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: train(args, Console()))


@dataclass
class Stopwatch:
    """Wall time per phase, printed at the end: training time is part of what the command reports."""

    phases: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start

    def summary(self) -> str:
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phases.items())
        return f"{COMMAND} took {time.perf_counter() - self.started:.1f} s ({parts})"


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    model_id: int
    decision: ActivationDecision
    previous_version: str | None


def train(args: argparse.Namespace, console: Console) -> int:
    settings = load_settings(args)
    catalog = load_catalog(settings.catalog_path) if settings.catalog_path else Catalog.empty()
    watch = Stopwatch()
    with watch.phase("reading"):
        incidents = asyncio.run(_read(settings))
    with watch.phase("features"):
        data = _training_set(incidents, catalog, settings)
    _say(
        console,
        f"training on {incidents.labelled_count} labelled incidents ({incidents.imported_count} "
        f"imported, {incidents.handled_count} prioritized by responders) of {len(incidents.history)} stored",
    )
    if not len(catalog):
        _say(console, "no service catalog (NOCBOT_CATALOG): service tier and customer-facing are unknown")
    with watch.phase("training"):
        result = _train(data, source=_source(settings, incidents), console=console)
    _print_metrics(console, result)
    if args.model_dir is not None:
        path = args.model_dir / f"{PRIORITY_MODEL}-{result.artifact.metadata.model_version}.ubj"
        try:
            write_model(result.artifact, path)
        except OSError as exc:
            raise CommandError(f"cannot write the model to {args.model_dir}: {exc.strerror}") from None
        _say(console, f"wrote {path} and {path.with_suffix('.json')}")
    with watch.phase("storing"):
        outcome = asyncio.run(_store(settings, result, force=args.force))
    _print_outcome(console, result.artifact, outcome)
    _say(console, watch.summary())
    return 0


async def _read(settings: Settings) -> TrainingIncidents:
    engine = open_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            return await read_training_incidents(conn)
    finally:
        await engine.dispose()


def _training_set(incidents: TrainingIncidents, catalog: Catalog, settings: Settings) -> TrainingSet:
    if incidents.labelled_count < MIN_ROWS:
        # Short enough for one line even where the error console wraps at 80 columns.
        raise CommandError(
            f"too few labelled incidents to train: {incidents.labelled_count} of the {MIN_ROWS} needed"
        )
    rows = training_rows(incidents, catalog=catalog, team_timezone=ZoneInfo(settings.timezone))
    return TrainingSet.from_rows(rows)


def _train(data: TrainingSet, *, source: str, console: Console) -> TrainingResult:
    try:
        with rich_training_progress(console) as progress:
            return train_priority_model(
                data, created_at=SystemClock().now(), progress=progress, source=source
            )
    except TrainingError as exc:
        raise CommandError(f"cannot train: {exc}") from None


def _source(settings: Settings, incidents: TrainingIncidents) -> str:
    url = make_url(settings.database_url)
    return (
        f"{incidents.imported_count} imported and {incidents.handled_count} responder-prioritized "
        f"incidents from {url.get_backend_name()} database {url.database}"
    )


async def _store(settings: Settings, result: TrainingResult, *, force: bool) -> StoreOutcome:
    """Compare, save and maybe activate in one transaction, under the models lock: a training that
    finishes meanwhile is compared against whatever this one activated."""
    engine = open_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            await lock_models(conn)
            previous = await active_version(conn)
            decision = _decide(result, await _active_or_broken(conn), force=force)
            try:
                model_id = await save_model(conn, result.artifact)
            except DuplicateModelError:
                # the same data trained twice within a second gives the same model and version:
                # it is stored already, so reuse it (and activate it if that is the decision)
                existing = await model_id_of(conn, result.artifact.metadata.model_version)
                if existing is None:
                    raise
                model_id = existing
            if decision.activate:
                await activate_model(conn, result.artifact.metadata.model_version)
    finally:
        await engine.dispose()
    return StoreOutcome(model_id, decision, previous)


async def _active_or_broken(conn: AsyncConnection) -> ModelArtifact | ModelLoadError | None:
    try:
        return await load_active_model(conn)
    except ModelLoadError as exc:
        return exc


def _decide(
    result: TrainingResult, active: ModelArtifact | ModelLoadError | None, *, force: bool
) -> ActivationDecision:
    if isinstance(active, ModelLoadError):
        # The service refuses to start on an unusable active model; any model that loads is better.
        reason = f"the active model cannot be used ({active}), so the new one replaces it"
        return ActivationDecision(True, reason, result.metrics, None)
    return decide_activation(result, active, force=force)


def _print_metrics(console: Console, result: TrainingResult) -> None:
    metrics = result.metrics
    window = result.artifact.metadata.data_window
    _say(
        console,
        f"holdout: the {window.holdout_rows} most recent incidents ({window.holdout_from:%Y-%m-%d} .. "
        f"{window.holdout_to:%Y-%m-%d}); trained on {window.train_rows} "
        f"({window.train_from:%Y-%m-%d} .. {window.train_to:%Y-%m-%d})",
    )
    _say(console, f"holdout accuracy {metrics.accuracy:.3f}, macro-F1 {metrics.macro_f1:.3f}")
    console.print(confusion_table(metrics))


def confusion_table(metrics: ClassificationMetrics) -> Table:
    table = Table(title="holdout confusion matrix (rows: true priority, columns: predicted)")
    table.add_column("true", justify="left")
    for priority in Priority:
        table.add_column(priority.name, justify="right")
    table.add_column("incidents", justify="right")
    table.add_column("F1", justify="right")
    for priority, counts, f1 in zip(Priority, metrics.confusion, metrics.per_class_f1, strict=True):
        cells = [_emphasized(n, predicted == priority) for predicted, n in zip(Priority, counts, strict=True)]
        table.add_row(priority.name, *cells, str(sum(counts)), "–" if f1 is None else f"{f1:.3f}")
    return table


def _say(console: Console, line: str, *, style: str | None = None) -> None:
    # soft_wrap: a line is never broken at the terminal width, so logs and grep see it whole;
    # no markup: paths and error messages may contain brackets
    console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


def _emphasized(count: int, correct: bool) -> str:
    return f"[bold green]{count}[/]" if correct and count else str(count)


def _print_outcome(console: Console, artifact: ModelArtifact, outcome: StoreOutcome) -> None:
    version = artifact.metadata.model_version
    _say(console, f"stored model {version} in the database (model_versions id {outcome.model_id})")
    decision = outcome.decision
    if decision.activate:
        _say(console, f"activated model {version}: {decision.reason}", style="bold")
    else:
        _say(
            console,
            f"not activated: model {outcome.previous_version} stays active; {decision.reason} (with --force)",
            style="bold",
        )
