"""Alert fingerprints computed exactly as Prometheus does, for sources that do not send one.

Prometheus' `LabelSet.Fingerprint()` is FNV-1a 64 over the sorted label names and values, each
followed by the byte 0xff. Using the same function means an alert sent through the generic API and
the same alert from Alertmanager deduplicate against each other.
"""

from __future__ import annotations

from collections.abc import Mapping

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = 0xFF


def label_fingerprint(labels: Mapping[str, str]) -> str:
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8"):
                digest = ((digest ^ byte) * _FNV_PRIME) & _MASK
            digest = ((digest ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{digest:016x}"
