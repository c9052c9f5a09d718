"""Which validated batches the monitor catches up on: newer than the last scored one, never history."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.lake import Lake

pytestmark = pytest.mark.unit


def batch(lake: Lake, ds: str, valid: bool = True, scored: bool = False, stale: bool = False) -> None:
    cat = Catalog(lake, "p")
    lake.write_json(cat.manifest_uri(ds), {"content_hash": "h-new" if stale else "h", "data": "d.parquet"})
    lake.write_json(cat.validation_summary_uri(ds), {"success": valid, "snapshot_hash": "h"})
    if scored:
        lake.write_bytes(cat.predictions_uri(ds), b"x")


def test_catch_up_after_the_last_scored_batch(tmp_path: Path) -> None:
    lake = Lake(tmp_path.as_uri())
    batch(lake, "2013-01-01", scored=True)
    batch(lake, "2013-01-02", scored=True)
    batch(lake, "2013-01-03")
    batch(lake, "2013-01-04", valid=False)  # quarantined
    batch(lake, "2013-01-05", stale=True)  # re-ingested after validation
    batch(lake, "2013-01-06")
    assert Catalog(lake, "p").unscored_batches() == ["2013-01-03", "2013-01-06"]


def test_nothing_scored_yet_means_no_back_fill(tmp_path: Path) -> None:
    lake = Lake(tmp_path.as_uri())
    batch(lake, "2013-01-01")
    batch(lake, "2013-01-02")
    assert Catalog(lake, "p").unscored_batches() == []
    assert Catalog(lake, "missing").unscored_batches() == []
