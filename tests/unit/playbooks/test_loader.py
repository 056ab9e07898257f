"""Reading playbook files: the shipped examples load; every problem is reported with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.playbooks import LibraryError, load_library, read_playbook
from engine.playbooks.spec import Approval, HttpAction, StepKind

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "playbooks"

GOOD = """\
name: restart-web
match:
  services: [web]
parameters:
  ns: {label: namespace, default: web}
approvers:
  users: ["slack:U1"]
steps:
  - name: restart
    kind: http
    method: post
    url: "https://k8s.example/ns/{{ ns }}/restart"
    headers: {Authorization: "Bearer {{ secrets.K8S }}"}
    body: {why: "incident {{ incident_id }}"}
  - name: healthy
    kind: check
    probe: {url: "https://web.example/health"}
  - name: done
    kind: resolve
"""


def test_the_shipped_examples_are_valid() -> None:
    library = load_library(EXAMPLES)
    assert len(library) >= 4
    assert {"restart-checkout-pods", "failover-payments-read-replica", "clear-search-node-disk",
            "scale-orders-consumer"} <= set(library.names())  # fmt: skip
    kinds = {step.kind for playbook in library for step in playbook.steps}
    assert {StepKind.HTTP, StepKind.COMMAND, StepKind.CHECK, StepKind.RESOLVE, StepKind.ESCALATE} <= kinds


def test_a_good_playbook_reads_with_defaults() -> None:
    playbook, problems = read_playbook(GOOD, "good.yaml")
    assert problems == []
    assert playbook is not None
    assert playbook.approval is Approval.REQUIRED and not playbook.allow_self_approval
    restart = playbook.steps[0]
    assert isinstance(restart.action, HttpAction) and restart.action.method == "POST"
    assert not restart.idempotent and not restart.safe  # a POST is neither unless the author says so
    assert playbook.steps[1].idempotent and playbook.steps[1].safe
    assert restart.line == 9


def test_every_problem_is_reported_with_its_line() -> None:
    text = """\
name: Bad Name
match: {}
approval: auto
approvers: {}
timeout: soon
parameters:
  ns: {label: namespace, value: fixed}
steps:
  - name: restart
    kind: http
    url: "https://{{ ns }}.example/x"
    retrys: 3
  - name: run
    kind: command
    argv: ["{{ ns }}", "--force"]
  - name: body secret
    kind: http
    url: "https://api.example/x"
    body: {token: "{{ secrets.TOKEN }}"}
  - name: close
    kind: resolve
  - name: unknown param
    kind: notify
    text: "hello {{ nobody }}"
"""
    playbook, problems = read_playbook(text, "bad.yaml")
    assert playbook is None
    lines = {p.line for p in problems}
    assert {1, 2, 5, 7, 11, 12, 15, 19, 20, 24} <= lines, problems
    assert all(str(p).startswith(f"bad.yaml:{p.line}: ") for p in problems)
    messages = "\n".join(str(p) for p in problems)
    assert "bad.yaml:12: unknown key 'retrys'" in messages
    assert "scheme or host" in messages
    assert "argv[0] must be an absolute path" in messages
    assert "resolve step needs a check step" in messages
    assert "{{ nobody }} is not a parameter" in messages
    assert "not marked safe" in messages
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_yaml_syntax_errors_and_duplicates_have_lines(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(GOOD)  # the same name again
    (tmp_path / "c.yaml").write_text("name: x\nsteps: [\n  - oops: {\n")
    (tmp_path / "notes.txt").write_text("not a playbook")
    with pytest.raises(LibraryError) as raised:
        load_library(tmp_path)
    found = [str(problem) for problem in raised.value.problems]
    assert any(p.startswith(f"{tmp_path / 'b.yml'}:1: name 'restart-web' is already used") for p in found)
    assert any(p.startswith(f"{tmp_path / 'c.yaml'}:") and "not valid YAML" in p for p in found)
    assert len(found) == 2


def test_the_command_allow_list_is_checked_when_given() -> None:
    text = GOOD.replace(
        "  - name: done\n    kind: resolve\n",
        "  - name: clean\n    kind: command\n    argv: [/usr/bin/cleanup, '--', '{{ ns }}']\n"
        "  - name: done\n    kind: resolve\n",
    )
    assert read_playbook(text, "x.yaml")[1] == []
    problems = read_playbook(text, "x.yaml", allowed_commands=["/usr/bin/other"])[1]
    assert [p.message for p in problems] == ["/usr/bin/cleanup is not in the command allow-list"]


def test_required_approval_needs_approvers() -> None:
    text = GOOD.replace('approvers:\n  users: ["slack:U1"]\n', "")
    problems = read_playbook(text, "x.yaml")[1]
    assert any("names nobody" in p.message for p in problems)


def test_auto_approval_with_safe_steps_only() -> None:
    text = """\
name: look
match: {services: [web]}
approval: auto
steps:
  - {name: probe, kind: check, probe: {url: "https://web.example/health"}, interval: 1s}
  - {name: say, kind: notify, text: "web is up ({{ incident_id }})"}
"""
    playbook, problems = read_playbook(text, "look.yaml")
    assert problems == [] and playbook is not None and playbook.approval is Approval.AUTO
