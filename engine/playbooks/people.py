"""Who asks for, approves and cancels runs, as the engine sees them (chat surfaces translate)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.playbooks.spec import Approvers


@dataclass(frozen=True, slots=True)
class Person:
    key: str
    """Surface and user id: "slack:U024BE7LH", "teams:<aad object id>", "console:ana"."""
    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    """Groups the surface vouches for, prefixed the same way: "slack:S0614TZR7",
    "teams:<aad group id>"."""

    @property
    def surface(self) -> str:
        surface, _, rest = self.key.partition(":")
        return surface[:16] if rest else "unknown"  # approvals.surface and audit_log.surface hold 16


def may_approve(approvers: Approvers, person: Person) -> bool:
    return person.key in approvers.users or bool(approvers.groups & person.groups)
