"""Split and merge, recorded as labelled corrections.

When people move alerts between incidents they tell the engine which alerts belong together and
which do not. The record keeps that as pairs (must-link, cannot-link) over alert instances, the
form in which corrections can be stored and later used to evaluate or tune the clustering.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.clustering.dedup import AlertKey


class CorrectionKind(enum.StrEnum):
    SPLIT = "split"  # `moved` left `source` for the new incident `target`
    MERGE = "merge"  # all of `source` moved into `target`


@dataclass(frozen=True, slots=True)
class Correction:
    kind: CorrectionKind
    source: int
    target: int
    moved: tuple[AlertKey, ...]
    others: tuple[AlertKey, ...]  # split: what stayed in source; merge: what target already held
    at: datetime
    actor: str | None = None
    note: str | None = None

    @property
    def must_link(self) -> list[tuple[AlertKey, AlertKey]]:
        """Pairs of alerts a person said belong together."""
        if self.kind is CorrectionKind.MERGE:
            return list(itertools.product(self.moved, self.others))
        return list(itertools.combinations(self.moved, 2))

    @property
    def cannot_link(self) -> list[tuple[AlertKey, AlertKey]]:
        """Pairs of alerts a person said do not belong together."""
        if self.kind is CorrectionKind.SPLIT:
            return list(itertools.product(self.moved, self.others))
        return []

    def as_dict(self) -> dict[str, Any]:
        def key(k: AlertKey) -> dict[str, str]:
            return {"fingerprint": k.fingerprint, "starts_at": k.starts_at.isoformat()}

        return {
            "kind": self.kind.value,
            "source": self.source,
            "target": self.target,
            "moved": [key(k) for k in self.moved],
            "others": [key(k) for k in self.others],
            "at": self.at.isoformat(),
            "actor": self.actor,
            "note": self.note,
        }
