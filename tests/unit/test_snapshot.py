"""Ingest: typed, content-hashed snapshots; idempotent per interval; bad data named precisely."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.config import load_pipeline
from airflow_mlops.core.errors import DataContractError, DataNotFoundError
from airflow_mlops.core.lake import Lake
from airflow_mlops.core.snapshot import ingest, manifest, read_snapshot
from airflow_mlops.datasets import write_flights

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
DAY = "2013-03-04"


@pytest.fixture
def setup(home: Path):
    cfg = load_pipeline(ROOT / "include" / "pipelines" / "flights_delay.yaml")
    raw = home / "raw" / "flights" / f"{DAY}.csv"
    write_flights((home / "raw").as_uri(), [DAY])
    return cfg, Lake((home / "lake").as_uri()), raw


def test_snapshot_is_typed_filtered_and_hashed(setup) -> None:
    cfg, lake, raw = setup
    res = ingest(cfg, lake, DAY)
    raw_df = pd.read_csv(raw)
    df = read_snapshot(lake, cfg.name, DAY)
    assert res.rows_raw == len(raw_df)
    assert res.rows_filtered == int(raw_df["arr_delay"].isna().sum()) > 0
    assert res.rows == len(df) == len(raw_df) - res.rows_filtered
    assert list(df.columns) == list(cfg.data_schema.columns)
    assert str(df["time_hour"].dtype) == "datetime64[ns, UTC]" and str(df["late"].dtype) == "boolean"
    assert df["late"].tolist() == (df["arr_delay"] > 15).tolist()
    assert res.uri.endswith(f"data-{res.content_hash[:16]}.parquet")
    assert manifest(lake, cfg.name, DAY)["content_hash"] == res.content_hash


def test_reingest_same_data_is_unchanged_and_changed_data_replaces(setup) -> None:
    cfg, lake, raw = setup
    first = ingest(cfg, lake, DAY)
    again = ingest(cfg, lake, DAY)
    assert again.unchanged and again.content_hash == first.content_hash
    df = pd.read_csv(raw)
    df.iloc[:100].to_csv(raw, index=False)
    third = ingest(cfg, lake, DAY)
    files = [n for n in lake.listdir(lake.partition(cfg.name, DAY)) if n.startswith("data-")]
    assert not third.unchanged and third.content_hash != first.content_hash
    assert files == [third.uri.rsplit("/", 1)[1]], "the old snapshot file of the interval must be gone"
    assert len(read_snapshot(lake, cfg.name, DAY)) == third.rows < first.rows


def test_bad_values_name_file_and_column_and_keep_everything(setup) -> None:
    cfg, lake, raw = setup
    good = ingest(cfg, lake, DAY)
    df = pd.read_csv(raw, dtype=str)
    df.loc[5, "dep_delay"] = "about ten"
    df.to_csv(raw, index=False)
    before = raw.read_bytes()
    with pytest.raises(DataContractError) as e:
        ingest(cfg, lake, DAY)
    assert f"{DAY}.csv: column 'dep_delay' (float) has non-numeric values 'about ten'" in str(e.value)
    assert raw.read_bytes() == before, "the raw file is never changed"
    assert manifest(lake, cfg.name, DAY)["content_hash"] == good.content_hash, "the snapshot is kept"


def test_missing_column_and_missing_file(setup, home: Path) -> None:
    cfg, lake, raw = setup
    pd.read_csv(raw).drop(columns=["carrier"]).to_csv(raw, index=False)
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['carrier'\]"):
        ingest(cfg, lake, DAY)
    with pytest.raises(DataNotFoundError, match=r"flights/2013-03-05.csv: raw file not found"):
        ingest(cfg, lake, "2013-03-05")
    assert lake.listdir(lake.uri(cfg.name, "batches")) == []


def test_no_temporary_files_are_left(setup, home: Path) -> None:
    cfg, lake, _ = setup
    ingest(cfg, lake, DAY)
    assert not [p for p in (home / "lake").rglob("*") if p.name.startswith(".tmp-")]
