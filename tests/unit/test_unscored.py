"""Which validated batches the monitor catches up on: newer than the last scored one, never history."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.core.lake import Lake
from airflow_mlops.core.scoring import predictions_uri, unscored_batches

pytestmark = pytest.mark.unit


def batch(lake: Lake, ds: str, valid: bool = True, scored: bool = False, stale: bool = False) -> None:
    part = lake.partition("p", ds)
    lake.write_json(f"{part}/manifest.json", {"content_hash": "h-new" if stale else "h", "data": "d.parquet"})
    lake.write_json(f"{part}/validation/summary.json", {"success": valid, "snapshot_hash": "h"})
    if scored:
        lake.write_bytes(predictions_uri(lake, "p", ds), b"x")


def test_catch_up_after_the_last_scored_batch(tmp_path: Path) -> None:
    lake = Lake(tmp_path.as_uri())
    batch(lake, "2013-01-01", scored=True)
    batch(lake, "2013-01-02", scored=True)
    batch(lake, "2013-01-03")
    batch(lake, "2013-01-04", valid=False)  # quarantined
    batch(lake, "2013-01-05", stale=True)  # re-ingested after validation
    batch(lake, "2013-01-06")
    assert unscored_batches(lake, "p") == ["2013-01-03", "2013-01-06"]


def test_nothing_scored_yet_means_no_back_fill(tmp_path: Path) -> None:
    lake = Lake(tmp_path.as_uri())
    batch(lake, "2013-01-01")
    batch(lake, "2013-01-02")
    assert unscored_batches(lake, "p") == []
    assert unscored_batches(lake, "missing") == []
