"""`nocbot playbooks validate`: exit 0 on the shipped examples, file:line problems and 1 otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "playbooks"


def test_the_examples_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playbooks", "validate", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert "ok  restart-checkout-pods" in out and "playbooks valid" in out


def test_problems_are_listed_with_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.yaml").write_text(
        "name: broken\nmatch: {services: [web]}\nsteps:\n  - {name: x, kind: nope}\n"
    )
    assert main(["playbooks", "validate", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert f"{tmp_path / 'broken.yaml'}:4: step kind must be one of" in captured.out
    assert "problem" in captured.err


def test_the_allow_list_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playbooks", "validate", str(EXAMPLES), "--allow-command", "/bin/true"]) == 1
    assert "search-disk-cleanup is not in the command allow-list" in capsys.readouterr().out
