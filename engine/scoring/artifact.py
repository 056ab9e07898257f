"""A trained priority model as stored: XGBoost UBJ bytes plus JSON metadata, kept side by side.

`model.ubj` holds the booster, `model.json` what it takes to trust it: feature names, data window,
holdout metrics, XGBoost version, creation time and the SHA-256 of the UBJ bytes. Loading checks all
of it, so a truncated, corrupt, mismatched or incompatible model fails with `ModelLoadError` instead
of scoring incidents with garbage.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import xgboost as xgb

from engine.scoring.assessment import PRIORITIES
from engine.scoring.errors import ModelLoadError
from engine.scoring.features import FEATURE_COUNT, FEATURE_NAMES
from engine.scoring.metrics import ClassificationMetrics

FORMAT = "nocbot-priority-model"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class DataWindow:
    """The time span of the incidents a model learned from and was judged on."""

    train_from: datetime
    train_to: datetime
    holdout_from: datetime
    holdout_to: datetime
    train_rows: int
    holdout_rows: int

    def to_json(self) -> dict[str, Any]:
        return {
            "train_from": self.train_from.isoformat(),
            "train_to": self.train_to.isoformat(),
            "holdout_from": self.holdout_from.isoformat(),
            "holdout_to": self.holdout_to.isoformat(),
            "train_rows": self.train_rows,
            "holdout_rows": self.holdout_rows,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DataWindow:
        return cls(
            train_from=datetime.fromisoformat(data["train_from"]),
            train_to=datetime.fromisoformat(data["train_to"]),
            holdout_from=datetime.fromisoformat(data["holdout_from"]),
            holdout_to=datetime.fromisoformat(data["holdout_to"]),
            train_rows=int(data["train_rows"]),
            holdout_rows=int(data["holdout_rows"]),
        )


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    model_version: str
    created_at: datetime
    xgboost_version: str
    feature_names: tuple[str, ...]
    data_window: DataWindow
    holdout_metrics: ClassificationMetrics
    boosting_rounds: int
    params: Mapping[str, Any]
    booster_sha256: str
    source: str = ""
    """Where the training rows came from, e.g. "synthetic history (seed 7)" or a database."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_version": self.model_version,
            "created_at": self.created_at.isoformat(),
            "xgboost_version": self.xgboost_version,
            "feature_names": list(self.feature_names),
            "classes": [p.name for p in PRIORITIES],
            "data_window": self.data_window.to_json(),
            "holdout_metrics": self.holdout_metrics.to_json(),
            "boosting_rounds": self.boosting_rounds,
            "params": dict(self.params),
            "booster_sha256": self.booster_sha256,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelMetadata:
        return cls(
            model_version=str(data["model_version"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            xgboost_version=str(data["xgboost_version"]),
            feature_names=tuple(str(name) for name in data["feature_names"]),
            data_window=DataWindow.from_json(data["data_window"]),
            holdout_metrics=ClassificationMetrics.from_json(data["holdout_metrics"]),
            boosting_rounds=int(data["boosting_rounds"]),
            params=dict(data["params"]),
            booster_sha256=str(data["booster_sha256"]),
            source=str(data.get("source", "")),
        )


@dataclass(frozen=True, eq=False)
class ModelArtifact:
    """Validated model bytes and metadata. Boosters are mutable, so each user gets its own."""

    ubj: bytes
    metadata: ModelMetadata

    def new_booster(self, *, nthread: int = 1) -> xgb.Booster:
        booster = xgb.Booster(params={"nthread": nthread})
        booster.load_model(bytearray(self.ubj))
        return booster


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def artifact_from_bytes(ubj: bytes, metadata_json: bytes, *, source: str) -> ModelArtifact:
    """Check every way the pair can be unusable; raise `ModelLoadError` naming `source` if so."""
    metadata = _parse_metadata(metadata_json, source)
    if metadata.feature_names != FEATURE_NAMES:
        raise ModelLoadError(
            f"{source}: model was trained on features {list(metadata.feature_names)}, but this nocbot "
            f"computes {list(FEATURE_NAMES)}; retrain the priority model"
        )
    if sha256_hex(ubj) != metadata.booster_sha256:
        raise ModelLoadError(
            f"{source}: model bytes do not match their metadata (checksum differs): the files are "
            "corrupt or from different trainings"
        )
    artifact = ModelArtifact(ubj, metadata)
    _check_booster(artifact, source)
    return artifact


def _parse_metadata(metadata_json: bytes, source: str) -> ModelMetadata:
    try:
        document = json.loads(metadata_json)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{source}: model metadata is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelLoadError(f"{source}: not a nocbot priority model (format is not {FORMAT!r})")
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(
            f"{source}: model format version {document.get('format_version')!r} is not supported "
            f"(this nocbot reads version {FORMAT_VERSION}); retrain the priority model"
        )
    try:
        return ModelMetadata.from_json(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{source}: model metadata is incomplete or malformed: {exc!r}") from exc


def _check_booster(artifact: ModelArtifact, source: str) -> None:
    try:
        booster = artifact.new_booster()
        config = json.loads(booster.save_config())
        class_count = int(config["learner"]["learner_model_param"]["num_class"])
        feature_count = booster.num_features()
    except (xgb.core.XGBoostError, KeyError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"{source}: not a loadable XGBoost model: {first_line}") from exc
    if class_count != len(PRIORITIES) or feature_count != FEATURE_COUNT:
        raise ModelLoadError(
            f"{source}: model predicts {class_count} classes from {feature_count} features; "
            f"expected {len(PRIORITIES)} priorities from {FEATURE_COUNT} features"
        )


def metadata_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def read_model(model_path: Path) -> ModelArtifact:
    """Read `model.ubj` and its `model.json`."""
    meta_path = metadata_path(model_path)
    try:
        ubj = model_path.read_bytes()
        metadata_json = meta_path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"{exc.filename}: cannot read the priority model: {exc.strerror}") from exc
    return artifact_from_bytes(ubj, metadata_json, source=str(model_path))


def write_model(artifact: ModelArtifact, model_path: Path) -> None:
    """Write both files, each atomically: a crash leaves the old file or the new, never half of one
    (and a mixed old/new pair is caught by the checksum on the next load)."""
    _write_atomically(model_path, artifact.ubj)
    document = json.dumps(artifact.metadata.to_json(), indent=2, sort_keys=True) + "\n"
    _write_atomically(metadata_path(model_path), document.encode("utf-8"))


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            # mkstemp creates owner-only files; a model is not a secret and others must read it.
            os.fchmod(file.fileno(), 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
