"""Interned text vectors, so that the similarity of two kinds of alert is computed once.

Replicas of a service failing the same way normalize to the same vector, and the same few kinds
recur all day; caching similarity per pair of interned vectors turns most comparisons into a dict
lookup. Both tables are bounded: they are caches, and clearing them only costs recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.clustering.text import TextVector, cosine


@dataclass(frozen=True, slots=True)
class Signature:
    id: int
    vector: TextVector


class SignatureTable:
    def __init__(self, max_signatures: int = 50_000, max_pairs: int = 500_000) -> None:
        self._ids: dict[tuple[tuple[str, float], ...], Signature] = {}
        self._next_id = 0
        self._pairs: dict[tuple[int, int], float] = {}
        self._max_signatures = max_signatures
        self._max_pairs = max_pairs

    def intern(self, vector: TextVector) -> Signature:
        key = tuple(sorted(vector.items()))
        found = self._ids.get(key)
        if found is not None:
            return found
        if len(self._ids) >= self._max_signatures:
            # Ids stay unique (the counter never restarts), so old cached pairs cannot collide.
            self._ids.clear()
            self._pairs.clear()
        signature = Signature(self._next_id, dict(vector))
        self._next_id += 1
        self._ids[key] = signature
        return signature

    def similarity(self, a: Signature, b: Signature) -> float:
        if a.id == b.id:
            return 1.0 if a.vector else 0.0
        pair = (a.id, b.id) if a.id < b.id else (b.id, a.id)
        cached = self._pairs.get(pair)
        if cached is None:
            if len(self._pairs) >= self._max_pairs:
                self._pairs.clear()
            cached = cosine(a.vector, b.vector)
            self._pairs[pair] = cached
        return cached
