"""Records without a time column (issue 11): a batch's interval is its records' time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.validate import validate_snapshot
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import load_pipeline, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.model.training_data import load_window
from airflow_mlops.core.model.window import select_window
from dev.datasets import write_credit
from tests.conftest import ROOT

pytestmark = pytest.mark.unit
CREDIT = ROOT / "include" / "pipelines" / "credit_default.yaml"
DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]


def test_the_window_is_in_batch_order_whatever_order_batches_arrived(home: Path) -> None:
    cfg = load_pipeline(CREDIT)
    assert cfg.data_schema.time_column is None
    write_credit((home / "raw").as_uri(), DAYS[0])
    lake = Lake((home / "lake").as_uri())
    for ds in reversed(DAYS):  # delivered newest first: no record says when it happened
        start = datetime.fromisoformat(ds).replace(tzinfo=UTC)
        # An interval far from any record time: without a time column nothing is checked against it.
        ingest(cfg, lake, ds, interval=(start, start + timedelta(days=1)))
        assert validate_snapshot(cfg, lake, ds).success
    cat = Catalog(lake, cfg.name)
    window = select_window(cat, 14)
    assert window == DAYS
    rows, lineage = load_window(cfg, cat, window)
    assert [x["ds"] for x in lineage] == DAYS
    # Batch order, then each file's order, as the files were written day by day.
    raw = [pd.read_csv(home / "raw" / "credit" / f"{ds}.csv", float_precision="round_trip") for ds in DAYS]
    assert rows["balance"].tolist() == pd.concat(raw)["balance"].tolist()


def test_a_time_column_must_be_a_declared_time() -> None:
    d = yaml.safe_load(CREDIT.read_text())
    d["schema"]["time_column"] = "income"
    with pytest.raises(
        ConfigError, match=r"time_column: 'income' is declared float, it must be datetime or date"
    ):
        parse_pipeline(yaml.safe_dump(d), "credit_default.yaml")
    d["schema"]["time_column"] = "opened_at"
    with pytest.raises(ConfigError, match=r"time_column: 'opened_at' is not one of the declared columns"):
        parse_pipeline(yaml.safe_dump(d), "credit_default.yaml")
