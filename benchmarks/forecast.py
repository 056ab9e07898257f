"""Quality of the 30-minute major-incident forecaster on a held-out period of a synthetic history.

    .venv/bin/python benchmarks/forecast.py [--services 30] [--days 90] [--seed 7]

The history comes from benchmarks/forecast_history.py (nothing real: build-ups, bursts that fizzle,
bad deploys, sudden outages, spill-over). Training is what `nocbot train-forecast` runs: the oldest
three quarters to learn (its last fifth for early stopping and the alarm threshold), the most
recent quarter held out. Prints per-forecast and per-event precision / recall and the lead time.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.forecast_history import generate
from bot.commands.train_forecast import print_metrics
from engine.forecasting import train_forecaster


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    generated = generate(args.services, args.days, args.seed)
    alerts = sum(len(events.alert_starts) for events in generated.history.services.values())
    print(
        f"history: {args.services} services, {args.days} days, {alerts} alerts, "
        f"{generated.majors} major incidents ({generated.preceded} scheduled with a build-up) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    result = train_forecaster(generated.history)
    print(
        f"trained in {time.perf_counter() - started:.1f} s: {result.rounds} rounds, "
        f"{result.fit_rows} fitting and {result.validation_rows} validation samples"
    )
    print_metrics(Console(), result.metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
