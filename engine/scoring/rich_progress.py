"""A rich progress display for training: one bar per boosting stage, with the validation loss.

Usage (e.g. in `nocbot train-priority`):

    with rich_training_progress(console) as progress:
        result = train_priority_model(data, created_at=now, progress=progress)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from engine.scoring.progress import ProgressCallback, TrainingProgress, TrainingStage

_BOOSTING_STAGES = (TrainingStage.SEARCHING, TrainingStage.REFITTING)


@contextmanager
def rich_training_progress(console: Console | None = None) -> Iterator[ProgressCallback]:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[loss]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as display:
        tasks: dict[TrainingStage, TaskID] = {}
        completed: dict[TaskID, int] = {}

        def report(event: TrainingProgress) -> None:
            if event.stage not in _BOOSTING_STAGES:
                display.console.log(event.stage.value)
                return
            task = tasks.get(event.stage)
            if task is None:
                task = display.add_task(event.stage.value, total=event.total_rounds, loss="")
                tasks[event.stage] = task
            loss = "" if event.validation_loss is None else f"val. log-loss {event.validation_loss:.4f}"
            completed[task] = event.completed_rounds
            display.update(task, completed=event.completed_rounds, loss=loss)

        yield report
        for task, rounds in completed.items():
            # Early stopping ends a stage before its upper bound: show it as finished.
            display.update(task, total=rounds)
