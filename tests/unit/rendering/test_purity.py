"""The model and its renderers are pure: importing them loads no chat SDK, HTTP or database code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RENDERING = ["engine.view", "integrations.slack_blocks", "integrations.teams_cards", "bot.console.render"]
FORBIDDEN = [
    "slack_sdk",
    "slack_bolt",
    "microsoft_agents",
    "aiohttp",
    "requests",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "engine.storage",
    "engine.scoring",
]


def test_rendering_modules_import_nothing_with_side_effects() -> None:
    script = (
        "import sys\n"
        f"for name in {RENDERING!r}: __import__(name)\n"
        f"forbidden = {FORBIDDEN!r}\n"
        "print(sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in forbidden)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
