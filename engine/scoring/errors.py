"""Errors of priority scoring, each carrying a message an operator can act on."""

from __future__ import annotations


class ScoringError(Exception):
    """Base of everything priority scoring raises on purpose."""


class ModelLoadError(ScoringError):
    """A stored priority model cannot be used: corrupt, truncated, or made for other features."""


class TrainingError(ScoringError):
    """The labelled history cannot produce a model (too little data, wrong shape, one class only)."""
