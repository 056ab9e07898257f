"""Reading playbook files: every problem reported with its file and line, all at once.

The YAML is composed into nodes first (not loaded into plain dicts) so each value keeps the line it
came from; an unknown key is an error too, since a misspelt `approvers` must not silently mean
"nobody can approve" or a misspelt `safe` "run without approval".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.clustering.silences import Matcher
from engine.playbooks.matching import IncidentFacts, matches
from engine.playbooks.spec import (
    BUILTIN_PARAMETERS,
    IDEMPOTENT_KINDS,
    IDEMPOTENT_METHODS,
    SAFE_KINDS,
    Action,
    Aggregate,
    Approval,
    Approvers,
    CheckAction,
    CommandAction,
    Comparison,
    EscalateAction,
    HttpAction,
    Match,
    MetricCondition,
    NotifyAction,
    Parameter,
    Playbook,
    ProbeCondition,
    ResolveAction,
    Step,
    StepKind,
    WaitAction,
)
from engine.playbooks.templating import Template, TemplateError, UrlTemplate, parse, parse_json

_PLAYBOOK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_PARAMETER_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DEFAULT_TIMEOUTS = {StepKind.HTTP: 30.0, StepKind.COMMAND: 60.0, StepKind.CHECK: 300.0}

_TOP_KEYS = {
    "name",
    "title",
    "description",
    "match",
    "parameters",
    "approval",
    "approvers",
    "allow_self_approval",
    "timeout",
    "approval_timeout",
    "steps",
}
_STEP_KEYS = {"name", "kind", "timeout", "retries", "retry_delay", "safe", "idempotent"}
_KIND_KEYS = {
    StepKind.HTTP: {"method", "url", "headers", "body", "expect_status"},
    StepKind.COMMAND: {"argv"},
    StepKind.WAIT: {"duration"},
    StepKind.CHECK: {"metric", "probe", "interval"},
    StepKind.NOTIFY: {"text"},
    StepKind.ESCALATE: {"reason"},
    StepKind.RESOLVE: {"note"},
}
_COMPARISONS = {
    "below": Comparison.BELOW,
    "at_most": Comparison.AT_MOST,
    "above": Comparison.ABOVE,
    "at_least": Comparison.AT_LEAST,
}


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


class LibraryError(ValueError):
    """Playbook files nocbot cannot use; `problems` lists every one, by file and line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class PlaybookLibrary:
    def __init__(self, playbooks: Sequence[Playbook] = ()) -> None:
        self._playbooks = {playbook.name: playbook for playbook in playbooks}

    def get(self, name: str) -> Playbook | None:
        return self._playbooks.get(name)

    def names(self) -> list[str]:
        return sorted(self._playbooks)

    def __len__(self) -> int:
        return len(self._playbooks)

    def __iter__(self) -> Iterator[Playbook]:
        return iter(self._playbooks[name] for name in self.names())

    def matching(
        self, labels: Mapping[str, str], services: Sequence[str], alertnames: Sequence[str]
    ) -> list[str]:
        """Names of the playbooks that fit an incident, for the buttons on its card."""
        facts = IncidentFacts(dict(labels), frozenset(services), frozenset(alertnames))
        return [playbook.name for playbook in self if matches(playbook.match, facts)]


def load_library(path: Path, *, allowed_commands: Collection[str] | None = None) -> PlaybookLibrary:
    """Every `*.yaml`/`*.yml` file in `path`, one playbook each; raises LibraryError listing every
    problem. With `allowed_commands`, a command step whose executable is not listed is one."""
    if not path.is_dir():
        raise LibraryError([Problem(str(path), 0, "not a directory of playbook files")])
    files = sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    problems: list[Problem] = []
    playbooks: list[Playbook] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(file), 0, f"cannot read: {exc}"))
            continue
        playbook, found = read_playbook(text, str(file), allowed_commands=allowed_commands)
        problems.extend(found)
        if playbook is None:
            continue
        if playbook.name in seen:
            problems.append(
                Problem(str(file), 1, f"name {playbook.name!r} is already used by {seen[playbook.name]}")
            )
            continue
        seen[playbook.name] = str(file)
        playbooks.append(playbook)
    if problems:
        raise LibraryError(problems)
    return PlaybookLibrary(playbooks)


def read_playbook(
    text: str, source: str, *, allowed_commands: Collection[str] | None = None
) -> tuple[Playbook | None, list[Problem]]:
    """One playbook from YAML text; None with the problems when it is not usable."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        return None, [Problem(source, line, f"not valid YAML: {exc.problem}")]
    except yaml.YAMLError as exc:
        return None, [Problem(source, 0, f"not valid YAML: {exc}")]
    reader = _Reader(source, allowed_commands)
    if root is None:
        reader.problem(None, "the file is empty")
        return None, reader.problems
    playbook = reader.playbook(root, hashlib.sha256(text.encode("utf-8")).hexdigest())
    problems = sorted(reader.problems, key=lambda problem: problem.line)
    return (playbook if not problems else None), problems


Fields = dict[str, tuple[yaml.Node, yaml.Node]]


class _Reader:
    def __init__(self, source: str, allowed_commands: Collection[str] | None) -> None:
        self.source = source
        self.allowed_commands = None if allowed_commands is None else frozenset(allowed_commands)
        self.problems: list[Problem] = []
        self.parameter_names: set[str] = set(BUILTIN_PARAMETERS)

    def problem(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.source, line, message))

    # -- the playbook ------------------------------------------------------------------------------

    def playbook(self, root: yaml.Node, revision: str) -> Playbook | None:
        fields = self.mapping(root, "a playbook", _TOP_KEYS)
        if fields is None:
            return None
        name = self.required_text(fields, "name", root) or ""
        if name and not _PLAYBOOK_NAME.match(name):
            self.problem(fields["name"][1], f"name {name!r}: use lower-case letters, digits, - and _")
        title = self.text(fields, "title") or name
        description = self.text(fields, "description") or ""
        match = self.match(fields["match"][1]) if "match" in fields else None
        if match is None and "match" not in fields:
            self.problem(root, "missing 'match' (which incidents this playbook is offered for)")
        parameters = self.parameters(fields["parameters"][1]) if "parameters" in fields else ()
        approval = self.choice(fields, "approval", [a.value for a in Approval], Approval.REQUIRED.value)
        approvers = self.approvers(fields["approvers"][1]) if "approvers" in fields else Approvers()
        allow_self = self.flag(fields, "allow_self_approval", default=False)
        timeout = self.duration(fields, "timeout", 900.0)
        approval_timeout = self.duration(fields, "approval_timeout", 3600.0)
        steps = self.steps(fields["steps"][1]) if "steps" in fields else ()
        if "steps" not in fields:
            self.problem(root, "missing 'steps'")
        if approval == Approval.REQUIRED.value and not approvers.users and not approvers.groups:
            self.problem(
                fields["approvers"][0] if "approvers" in fields else root,
                "approval is required but 'approvers' names nobody (users, slack_groups or teams_groups)",
            )
        if approval == Approval.AUTO.value:
            for step in steps:
                if not step.safe:
                    self.problems.append(
                        Problem(
                            self.source,
                            step.line,
                            f"step {step.name!r} is not marked safe: 'approval: auto' needs every step safe",
                        )
                    )
        self.check_order(steps)
        if self.problems or match is None:
            return None
        return Playbook(
            name=name,
            title=title,
            description=description,
            source=self.source,
            revision=revision,
            match=match,
            parameters=parameters,
            approval=Approval(approval),
            approvers=approvers,
            allow_self_approval=allow_self,
            timeout_seconds=timeout,
            approval_timeout_seconds=approval_timeout,
            steps=steps,
        )

    def check_order(self, steps: Sequence[Step]) -> None:
        checked = False
        for step in steps:
            if step.kind is StepKind.CHECK:
                checked = True
            if step.kind is StepKind.RESOLVE and not checked:
                self.problems.append(
                    Problem(self.source, step.line, "a resolve step needs a check step before it")
                )

    def match(self, node: yaml.Node) -> Match | None:
        fields = self.mapping(node, "'match'", {"alertnames", "services", "labels"})
        if fields is None:
            return None
        alertnames = frozenset(self.text_list(fields, "alertnames"))
        services = frozenset(self.text_list(fields, "services"))
        labels: list[Matcher] = []
        if "labels" in fields:
            for item in self.sequence(fields["labels"][1], "'labels'"):
                raw = self.scalar_text(item)
                if raw is None:
                    continue
                try:
                    labels.append(Matcher.parse(raw))
                except ValueError as exc:
                    self.problem(item, str(exc))
        if not (alertnames or services or labels):
            self.problem(node, "'match' needs alertnames, services or labels (else it fits every incident)")
        return Match(alertnames, services, tuple(labels))

    def parameters(self, node: yaml.Node) -> tuple[Parameter, ...]:
        fields = self.mapping(node, "'parameters'", None)
        if fields is None:
            return ()
        found: list[Parameter] = []
        for name, (key, value) in fields.items():
            if not _PARAMETER_NAME.match(name):
                self.problem(key, f"parameter {name!r}: use lower-case letters, digits and _")
                continue
            if name in BUILTIN_PARAMETERS:
                self.problem(key, f"parameter {name!r} is built in ({', '.join(BUILTIN_PARAMETERS)})")
                continue
            spec = self.mapping(value, f"parameter {name!r}", {"label", "default", "value", "pattern"})
            if spec is None:
                continue
            label, default, fixed = (
                self.text(spec, "label"),
                self.text(spec, "default"),
                self.text(spec, "value"),
            )
            if (label is None) == (fixed is None):
                self.problem(
                    value, f"parameter {name!r}: give either 'label' (with an optional default) or 'value'"
                )
            if fixed is not None and default is not None:
                self.problem(value, f"parameter {name!r}: 'default' goes with 'label', not 'value'")
            pattern = None
            raw_pattern = self.text(spec, "pattern")
            if raw_pattern is not None:
                try:
                    pattern = re.compile(raw_pattern)
                except re.error as exc:
                    self.problem(spec["pattern"][1], f"parameter {name!r}: bad pattern: {exc}")
            self.parameter_names.add(name)
            found.append(
                Parameter(name, label=label, default=fixed if fixed is not None else default, pattern=pattern)
            )
        return tuple(found)

    def approvers(self, node: yaml.Node) -> Approvers:
        fields = self.mapping(node, "'approvers'", {"users", "slack_groups", "teams_groups"})
        if fields is None:
            return Approvers()
        users = self.text_list(fields, "users")
        for user in users:
            if ":" not in user:
                self.problem(fields["users"][1], f"user {user!r}: write surface:id, e.g. slack:U024BE7LH")
        groups = [f"slack:{g}" for g in self.text_list(fields, "slack_groups")]
        groups += [f"teams:{g}" for g in self.text_list(fields, "teams_groups")]
        return Approvers(frozenset(users), frozenset(groups))

    # -- steps -------------------------------------------------------------------------------------

    def steps(self, node: yaml.Node) -> tuple[Step, ...]:
        items = self.sequence(node, "'steps'")
        if not items:
            self.problem(node, "'steps' must list at least one step")
        steps: list[Step] = []
        names: set[str] = set()
        for item in items:
            step = self.step(item)
            if step is None:
                continue
            if step.name in names:
                self.problem(item, f"step name {step.name!r} is used twice")
            names.add(step.name)
            steps.append(step)
        return tuple(steps)

    def step(self, node: yaml.Node) -> Step | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "a step must be a mapping with name and kind")
            return None
        loose = self.mapping(node, "a step", None) or {}
        kind_text = self.text(loose, "kind")
        if kind_text not in {k.value for k in StepKind}:
            where = loose["kind"][1] if "kind" in loose else node
            self.problem(where, f"step kind must be one of {', '.join(k.value for k in StepKind)}")
            return None
        kind = StepKind(kind_text)
        for key, (key_node, _value) in loose.items():
            if key not in _STEP_KEYS | _KIND_KEYS[kind]:
                self.problem(key_node, f"unknown key {key!r} for a {kind.value} step")
        name = self.required_text(loose, "name", node) or f"step {len(self.problems)}"
        action = self.action(kind, loose, node)
        retries = self.integer(loose, "retries", 0)
        if retries < 0 or retries > 10:
            self.problem(loose["retries"][1], "retries must be from 0 to 10")
        safe = self.flag(loose, "safe", default=kind in SAFE_KINDS)
        if kind in SAFE_KINDS and not safe:
            self.problem(loose["safe"][1], f"a {kind.value} step is always safe")
        idempotent_default = kind in IDEMPOTENT_KINDS or (
            isinstance(action, HttpAction) and action.method in IDEMPOTENT_METHODS
        )
        if action is None:
            return None
        return Step(
            name=name,
            kind=kind,
            action=action,
            line=node.start_mark.line + 1,
            timeout_seconds=self.duration(loose, "timeout", _DEFAULT_TIMEOUTS.get(kind, 30.0)),
            retries=retries,
            retry_delay_seconds=self.duration(loose, "retry_delay", 5.0),
            safe=safe,
            idempotent=self.flag(loose, "idempotent", default=idempotent_default),
        )

    def action(self, kind: StepKind, fields: Fields, node: yaml.Node) -> Action | None:
        builders: dict[StepKind, Callable[[Fields, yaml.Node], Action | None]] = {
            StepKind.HTTP: self.http,
            StepKind.COMMAND: self.command,
            StepKind.WAIT: self.wait,
            StepKind.CHECK: self.check,
            StepKind.NOTIFY: self.notify,
            StepKind.ESCALATE: self.escalate,
            StepKind.RESOLVE: self.resolve,
        }
        return builders[kind](fields, node)

    def http(self, fields: Fields, node: yaml.Node) -> HttpAction | None:
        method = (self.text(fields, "method") or "GET").upper()
        if method not in _METHODS:
            self.problem(fields["method"][1], f"method must be one of {', '.join(_METHODS)}")
        url = self.url(fields, "url", node)
        headers: list[tuple[str, Template]] = []
        if "headers" in fields:
            for header, (key, value) in (self.mapping(fields["headers"][1], "'headers'", None) or {}).items():
                if not _HEADER_NAME.match(header):
                    self.problem(key, f"header name {header!r} is not valid")
                raw = self.scalar_text(value)
                template = self.template(value, raw, secrets=True) if raw is not None else None
                if template is not None:
                    headers.append((header, template))
        body = None
        if "body" in fields:
            value_node = fields["body"][1]
            try:
                body = parse_json(self.construct(value_node))
            except TemplateError as exc:
                self.problem(value_node, str(exc))
            self.check_refs_in(value_node, body)
        expect = self.status_list(fields, "expect_status")
        if url is None:
            return None
        return HttpAction(method, url, tuple(headers), body, expect)

    def command(self, fields: Fields, node: yaml.Node) -> CommandAction | None:
        if "argv" not in fields:
            self.problem(node, "a command step needs 'argv' (the executable and its arguments)")
            return None
        argv: list[Template] = []
        for item in self.sequence(fields["argv"][1], "'argv'"):
            raw = self.scalar_text(item)
            template = self.template(item, raw) if raw is not None else None
            if template is not None:
                argv.append(template)
        if not argv:
            self.problem(fields["argv"][1], "'argv' must name at least the executable")
            return None
        executable = argv[0]
        if not executable.is_literal or not executable.source.startswith("/"):
            self.problem(
                fields["argv"][1], "argv[0] must be an absolute path written out, with no placeholders"
            )
        elif self.allowed_commands is not None and executable.source not in self.allowed_commands:
            self.problem(fields["argv"][1], f"{executable.source} is not in the command allow-list")
        return CommandAction(tuple(argv))

    def wait(self, fields: Fields, node: yaml.Node) -> WaitAction | None:
        if "duration" not in fields:
            self.problem(node, "a wait step needs 'duration'")
            return None
        return WaitAction(self.duration(fields, "duration", 0.0))

    def check(self, fields: Fields, node: yaml.Node) -> CheckAction | None:
        interval = self.duration(fields, "interval", 15.0)
        if ("metric" in fields) == ("probe" in fields):
            self.problem(node, "a check step needs exactly one of 'metric' or 'probe'")
            return None
        if "metric" in fields:
            metric = self.metric(fields["metric"][1])
            return None if metric is None else CheckAction(metric, interval)
        probe = self.probe(fields["probe"][1])
        return None if probe is None else CheckAction(probe, interval)

    def metric(self, node: yaml.Node) -> MetricCondition | None:
        keys = {"name", "labels", "aggregate", "window", *_COMPARISONS}
        fields = self.mapping(node, "'metric'", keys)
        if fields is None:
            return None
        name = self.required_text(fields, "name", node)
        labels: list[tuple[str, Template]] = []
        if "labels" in fields:
            for label, (_key, value) in (self.mapping(fields["labels"][1], "'labels'", None) or {}).items():
                raw = self.scalar_text(value)
                template = self.template(value, raw) if raw is not None else None
                if template is not None:
                    labels.append((label, template))
        aggregate = self.choice(fields, "aggregate", [a.value for a in Aggregate], Aggregate.AVG.value)
        given = [key for key in _COMPARISONS if key in fields]
        if len(given) != 1:
            self.problem(node, f"a metric check needs exactly one of {', '.join(_COMPARISONS)}")
            return None
        threshold = self.number(fields, given[0])
        window = self.duration(fields, "window", 300.0)
        if name is None or threshold is None:
            return None
        return MetricCondition(
            name, tuple(labels), Aggregate(aggregate), _COMPARISONS[given[0]], threshold, window
        )

    def probe(self, node: yaml.Node) -> ProbeCondition | None:
        fields = self.mapping(node, "'probe'", {"url", "expect_status", "body_contains"})
        if fields is None:
            return None
        url = self.url(fields, "url", node)
        expect = self.status_list(fields, "expect_status")
        contains = self.text(fields, "body_contains")
        return None if url is None else ProbeCondition(url, expect, contains)

    def notify(self, fields: Fields, node: yaml.Node) -> NotifyAction | None:
        template = self.template_field(fields, "text", node, required=True)
        return None if template is None else NotifyAction(template)

    def escalate(self, fields: Fields, node: yaml.Node) -> EscalateAction | None:
        template = self.template_field(fields, "reason", node, required=False)
        return EscalateAction(template or parse("playbook {{ playbook }} could not fix it"))

    def resolve(self, fields: Fields, node: yaml.Node) -> ResolveAction:
        return ResolveAction(self.template_field(fields, "note", node, required=False))

    # -- templates ---------------------------------------------------------------------------------

    def template(self, node: yaml.Node, raw: str, *, secrets: bool = False) -> Template | None:
        try:
            template = parse(raw)
        except TemplateError as exc:
            self.problem(node, str(exc))
            return None
        for ref in template.refs:
            if ref.secret and not secrets:
                self.problem(node, f"secrets.{ref.name}: secrets may only be used in headers")
            elif not ref.secret and ref.name not in self.parameter_names:
                self.problem(node, f"{{{{ {ref.name} }}}} is not a parameter of this playbook")
        return template

    def template_field(self, fields: Fields, key: str, node: yaml.Node, *, required: bool) -> Template | None:
        if key not in fields:
            if required:
                self.problem(node, f"missing {key!r}")
            return None
        raw = self.scalar_text(fields[key][1])
        return None if raw is None else self.template(fields[key][1], raw)

    def url(self, fields: Fields, key: str, node: yaml.Node) -> UrlTemplate | None:
        raw = self.required_text(fields, key, node)
        if raw is None:
            return None
        try:
            url = UrlTemplate.parse(raw)
        except TemplateError as exc:
            self.problem(fields[key][1], str(exc))
            return None
        self.template(fields[key][1], raw)  # reports unknown parameter names
        return url

    def check_refs_in(self, node: yaml.Node, value: Any) -> None:
        if isinstance(value, Template):
            for ref in value.refs:
                if ref.name not in self.parameter_names:
                    self.problem(node, f"{{{{ {ref.name} }}}} is not a parameter of this playbook")
        elif isinstance(value, list):
            for item in value:
                self.check_refs_in(node, item)
        elif isinstance(value, dict):
            for item in value.values():
                self.check_refs_in(node, item)

    # -- plain values ------------------------------------------------------------------------------

    def mapping(self, node: yaml.Node, what: str, allowed: set[str] | None) -> Fields | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping")
            return None
        fields: Fields = {}
        for key, value in node.value:
            name = self.scalar_text(key)
            if name is None:
                continue
            if name in fields:
                self.problem(key, f"{name!r} appears twice")
            elif allowed is not None and name not in allowed:
                self.problem(
                    key, f"unknown key {name!r} in {what} (expected one of {', '.join(sorted(allowed))})"
                )
            else:
                fields[name] = (key, value)
        return fields

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what} must be a list")
            return []
        return list(node.value)

    def scalar_text(self, node: yaml.Node) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, "expected a single value here")
            return None
        value = self.construct(node)
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            self.problem(node, f"expected text, found {node.value!r}")
            return None
        return str(value)

    def construct(self, node: yaml.Node) -> Any:
        loader = yaml.SafeLoader("")
        try:
            return loader.construct_object(node, deep=True)
        finally:
            loader.dispose()

    def text(self, fields: Fields, key: str) -> str | None:
        return self.scalar_text(fields[key][1]) if key in fields else None

    def required_text(self, fields: Fields, key: str, node: yaml.Node) -> str | None:
        if key not in fields:
            self.problem(node, f"missing {key!r}")
            return None
        return self.text(fields, key)

    def text_list(self, fields: Fields, key: str) -> list[str]:
        if key not in fields:
            return []
        items = [self.scalar_text(item) for item in self.sequence(fields[key][1], repr(key))]
        return [item for item in items if item is not None]

    def choice(self, fields: Fields, key: str, options: Sequence[str], default: str) -> str:
        value = self.text(fields, key)
        if value is None:
            return default
        if value not in options:
            self.problem(fields[key][1], f"{key} must be one of {', '.join(options)}")
            return default
        return value

    def flag(self, fields: Fields, key: str, *, default: bool) -> bool:
        if key not in fields:
            return default
        value = self.construct(fields[key][1])
        if not isinstance(value, bool):
            self.problem(fields[key][1], f"{key} must be true or false")
            return default
        return value

    def integer(self, fields: Fields, key: str, default: int) -> int:
        if key not in fields:
            return default
        value = self.construct(fields[key][1])
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(fields[key][1], f"{key} must be a whole number")
            return default
        return value

    def number(self, fields: Fields, key: str) -> float | None:
        value = self.construct(fields[key][1])
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(fields[key][1], f"{key} must be a number")
            return None
        return float(value)

    def status_list(self, fields: Fields, key: str) -> tuple[int, ...]:
        if key not in fields:
            return ()
        statuses: list[int] = []
        for item in self.sequence(fields[key][1], repr(key)):
            value = self.construct(item)
            if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
                self.problem(item, "expect_status lists HTTP status codes (100-599)")
            else:
                statuses.append(value)
        return tuple(statuses)

    def duration(self, fields: Fields, key: str, default: float) -> float:
        if key not in fields:
            return default
        node = fields[key][1]
        value = self.construct(node)
        seconds: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str) and (found := _DURATION.match(value.strip())):
            seconds = float(found.group(1)) * _UNITS[found.group(2)]
        if seconds is None or seconds <= 0:
            self.problem(node, f"{key} must be a positive duration such as 500ms, 30s, 5m or 1h")
            return default
        return seconds
