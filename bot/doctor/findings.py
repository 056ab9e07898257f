"""What a check says: one finding per thing checked, with the fix when something is wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum


class Status(Enum):
    OK = "ok"
    SKIPPED = "skipped"  # not configured, and that is allowed
    WARNING = "warning"  # works, but probably not as intended
    PROBLEM = "problem"  # will not work: `nocbot doctor` exits non-zero

    @property
    def failing(self) -> bool:
        return self is Status.PROBLEM


@dataclass(frozen=True, slots=True)
class Finding:
    area: str  # "database", "slack", ... (the check's name)
    status: Status
    message: str
    fix: str = ""


Check = Callable[[Mapping[str, str]], Awaitable[list[Finding]]]


def ok(area: str, message: str) -> Finding:
    return Finding(area, Status.OK, message)


def skipped(area: str, message: str) -> Finding:
    return Finding(area, Status.SKIPPED, message)


def warning(area: str, message: str, fix: str) -> Finding:
    return Finding(area, Status.WARNING, message, fix)


def problem(area: str, message: str, fix: str) -> Finding:
    return Finding(area, Status.PROBLEM, message, fix)
