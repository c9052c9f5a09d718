"""What the data stage's tests share: one real day of flights in the raw folder, and the shipped
flights pipeline and its catalog to ingest it with."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.lake import Lake
from dev.datasets import write_flights
from tests.conftest import ROOT

DAY = "2013-03-04"


@pytest.fixture
def setup(home: Path) -> tuple[PipelineConfig, Catalog, Path]:
    """The flights pipeline, its catalog in a fresh lake, and the raw CSV file of DAY."""
    cfg = load_pipeline(ROOT / "include" / "pipelines" / "flights_delay.yaml")
    write_flights((home / "raw").as_uri(), [DAY])
    return cfg, Catalog(Lake((home / "lake").as_uri()), cfg.name), home / "raw" / "flights" / f"{DAY}.csv"
