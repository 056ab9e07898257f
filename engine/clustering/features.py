"""Everything clustering needs to know about one alert instance, computed once when it arrives."""

from __future__ import annotations

from dataclasses import dataclass

from engine.catalog import Catalog
from engine.clustering.labels import AlertLocation, LabelSemantics, locate
from engine.clustering.signatures import Signature, SignatureTable
from engine.clustering.text import name_words, unit_vector, value_words, words
from engine.models import Alert


@dataclass(frozen=True, slots=True)
class TextWeights:
    """How much each part of an alert counts in its text vector.

    The alert name as a whole counts most: rule authors give one name to one kind of failure. Extra
    labels (severity, namespace, team, ...) count least: they are shared by unrelated alerts.
    """

    alertname: float = 2.0
    name_words: float = 1.0
    summary_words: float = 1.0
    labels: float = 0.5


@dataclass(frozen=True, slots=True)
class AlertFeatures:
    location: AlertLocation
    signature: Signature
    starts_at: float  # epoch seconds

    @property
    def service(self) -> str | None:
        return self.location.service


def text_tokens(alert: Alert, semantics: LabelSemantics, weights: TextWeights) -> list[tuple[str, float]]:
    tokens: list[tuple[str, float]] = [(f"alertname={alert.name.lower()}", weights.alertname)]
    tokens.extend((word, weights.name_words) for word in name_words(alert.name))
    tokens.extend((word, weights.summary_words) for word in words(alert.summary))
    skipped = semantics.location_keys
    for key, value in alert.labels.items():
        if key in skipped:
            continue
        for word in value_words(value):
            tokens.append((f"{key}={word}", weights.labels))
    return tokens


def extract_features(
    alert: Alert,
    *,
    catalog: Catalog,
    semantics: LabelSemantics,
    weights: TextWeights,
    signatures: SignatureTable,
) -> AlertFeatures:
    vector = unit_vector(text_tokens(alert, semantics, weights))
    return AlertFeatures(
        location=locate(alert.labels, semantics, catalog),
        signature=signatures.intern(vector),
        starts_at=alert.starts_at.timestamp(),
    )
