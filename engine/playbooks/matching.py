"""Which playbooks fit an incident, and the labels their parameters are read from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.models import Alert
from engine.playbooks.spec import Match, Parameter


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    labels: Mapping[str, str]
    services: frozenset[str]
    alertnames: frozenset[str]


def facts_of(alerts: Sequence[Alert], services: Sequence[str]) -> IncidentFacts:
    """An incident's labels are its alerts' labels; on a conflict the earliest alert wins, since
    the first alert of a cascade is most often the cause the playbook should act on."""
    labels: dict[str, str] = {}
    for alert in sorted(alerts, key=lambda a: (a.starts_at, a.fingerprint)):
        for name, value in alert.labels.items():
            labels.setdefault(name, value)
    return IncidentFacts(
        labels=labels,
        services=frozenset(services) | {a.service for a in alerts if a.service},
        alertnames=frozenset(a.name for a in alerts),
    )


def matches(match: Match, facts: IncidentFacts) -> bool:
    """Every criterion given must hold; within a list, one entry is enough."""
    if match.alertnames and not match.alertnames & facts.alertnames:
        return False
    if match.services and not match.services & facts.services:
        return False
    return all(matcher.matches(facts.labels) for matcher in match.labels)


class ParameterError(ValueError):
    """An incident lacks a label a playbook needs, or a value fails the parameter's pattern."""


def parameter_values(parameters: Sequence[Parameter], facts: IncidentFacts) -> dict[str, str]:
    values: dict[str, str] = {}
    for parameter in parameters:
        if parameter.label is not None:
            value = facts.labels.get(parameter.label, parameter.default)
            if value is None:
                raise ParameterError(f"the incident has no label {parameter.label!r} for {parameter.name!r}")
        else:
            value = parameter.default or ""
        if parameter.pattern is not None and not parameter.pattern.fullmatch(value):
            raise ParameterError(
                f"{parameter.name} = {value!r} does not match the pattern {parameter.pattern.pattern!r}"
            )
        values[parameter.name] = value
    return values
