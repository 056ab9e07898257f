"""Fixtures for the clustering tests; the builders live in `clustering_builders`."""

from __future__ import annotations

import pytest
from clustering_builders import shop_catalog

from engine.catalog import Catalog
from engine.clustering import AlertCorrelator, ClusteringConfig


@pytest.fixture
def catalog() -> Catalog:
    return shop_catalog()


@pytest.fixture
def engine(catalog: Catalog) -> AlertCorrelator:
    return AlertCorrelator(ClusteringConfig(), catalog)
