"""The auto-escalation rule on its own (settings parse it without loading the escalation engine)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class AutoEscalation:
    """Escalate incidents of priority P1..P`max_priority` still unacknowledged `after` opening."""

    max_priority: int
    after: timedelta

    def __str__(self) -> str:
        return f"P{self.max_priority}/{int(self.after.total_seconds() // 60)}m"
