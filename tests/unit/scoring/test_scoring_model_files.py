from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from engine.models import Service
from engine.scoring import (
    DEFAULT_MODEL_PATH,
    RULES_SCORER_NAME,
    XGBOOST_SCORER_NAME,
    IncidentFacts,
    ModelLoadError,
    RuleBasedScorer,
    TrainingResult,
    XGBoostScorer,
    load_priority_scorer,
    read_model,
    write_model,
)
from engine.scoring.artifact import metadata_path, sha256_hex

FACTS = IncidentFacts(
    opened_at=datetime(2025, 6, 4, 8, 30, tzinfo=UTC),
    services=(Service("checkout", tier=0, customer_facing=True),),
)


@pytest.fixture
def model_path(tmp_path: Path, planted_model: TrainingResult) -> Path:
    path = tmp_path / "models" / "priority.ubj"
    write_model(planted_model.artifact, path)
    return path


def rewrite_metadata(path: Path, **changes: object) -> None:
    document = json.loads(metadata_path(path).read_text())
    document.update(changes)
    metadata_path(path).write_text(json.dumps(document))


def test_a_written_model_loads_and_scores_like_the_trained_one(
    model_path: Path, planted_model: TrainingResult
) -> None:
    loaded = read_model(model_path)
    assert loaded.ubj == planted_model.artifact.ubj
    assert loaded.metadata == planted_model.artifact.metadata
    rows = planted_model.holdout.features[:50]
    np.testing.assert_array_equal(
        XGBoostScorer(loaded).score_matrix(rows).classes,
        XGBoostScorer(planted_model.artifact).score_matrix(rows).classes,
    )
    assert oct(model_path.stat().st_mode & 0o777) == oct(0o644)


def test_without_a_model_the_rules_score_and_say_so(tmp_path: Path) -> None:
    scorer = load_priority_scorer(tmp_path / "absent.ubj")
    assert isinstance(scorer, RuleBasedScorer)
    assessment = scorer.assess(FACTS)
    assert assessment.scorer == RULES_SCORER_NAME == "rules"
    assert assessment.model_version is None
    assert isinstance(load_priority_scorer(None), RuleBasedScorer)


def test_with_a_model_the_model_scores_and_says_which(model_path: Path) -> None:
    assessment = load_priority_scorer(model_path).assess(FACTS)
    assert assessment.scorer == XGBOOST_SCORER_NAME
    assert assessment.model_version == read_model(model_path).metadata.model_version


def test_the_shipped_default_model_loads() -> None:
    scorer = load_priority_scorer(DEFAULT_MODEL_PATH)
    assert isinstance(scorer, XGBoostScorer)
    assert scorer.metadata.data_window.train_rows >= 8000


def test_corrupt_model_bytes_are_a_clear_error(model_path: Path) -> None:
    model_path.write_bytes(model_path.read_bytes()[:500])
    with pytest.raises(ModelLoadError, match=r"priority\.ubj: model bytes do not match their metadata"):
        load_priority_scorer(model_path)


def test_garbage_that_matches_its_checksum_is_still_refused(model_path: Path) -> None:
    garbage = b"{not a model at all"
    model_path.write_bytes(garbage)
    rewrite_metadata(model_path, booster_sha256=sha256_hex(garbage))
    with pytest.raises(ModelLoadError, match="not a loadable XGBoost model"):
        read_model(model_path)


def test_corrupt_metadata_is_a_clear_error(model_path: Path) -> None:
    metadata_path(model_path).write_text('{"format": "nocbot-priority-model", ')
    with pytest.raises(ModelLoadError, match="metadata is not valid JSON"):
        read_model(model_path)


def test_missing_metadata_is_an_error_not_a_silent_fallback(model_path: Path) -> None:
    metadata_path(model_path).unlink()
    with pytest.raises(ModelLoadError, match=r"priority\.json: cannot read the priority model"):
        load_priority_scorer(model_path)


def test_a_model_for_other_features_asks_for_retraining(model_path: Path) -> None:
    rewrite_metadata(model_path, feature_names=["max_severity", "alert_count"])
    with pytest.raises(ModelLoadError, match="retrain the priority model"):
        read_model(model_path)


def test_an_unknown_format_version_is_refused(model_path: Path) -> None:
    rewrite_metadata(model_path, format_version=99)
    with pytest.raises(ModelLoadError, match="format version 99 is not supported"):
        read_model(model_path)


def test_incomplete_metadata_is_refused(model_path: Path) -> None:
    document = json.loads(metadata_path(model_path).read_text())
    del document["data_window"]
    metadata_path(model_path).write_text(json.dumps(document))
    with pytest.raises(ModelLoadError, match="incomplete or malformed"):
        read_model(model_path)
