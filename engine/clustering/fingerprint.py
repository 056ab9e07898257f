"""Alertmanager-compatible fingerprints for alerts that arrive without one.

Alertmanager identifies an alert by the FNV-1a 64-bit hash of its sorted label names and values,
each followed by the byte 0xff, printed as 16 hex digits. Computing exactly that (rather than any
stable hash) means an alert posted to the API without a fingerprint deduplicates against the same
alert relayed by Alertmanager.
"""

from __future__ import annotations

from collections.abc import Mapping

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = 0xFF


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Alertmanager gives an alert with these labels (order does not matter)."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8"):
                digest = ((digest ^ byte) * _FNV_PRIME) & _MASK
            digest = ((digest ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{digest:016x}"
