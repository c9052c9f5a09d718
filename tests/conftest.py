"""Shared fixtures: every test gets its own state directory (lake, raw files, MLflow store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "include" / "pipelines"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh AIRFLOW_MLOPS_HOME with the embedded defaults pointing into it."""
    for var in (
        "AIRFLOW_MLOPS_LAKE_ROOT",
        "AIRFLOW_MLOPS_RAW_ROOT",
        "AIRFLOW_MLOPS_LAKE_CONN_ID",
        "MLFLOW_TRACKING_URI",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path))
    yield tmp_path
