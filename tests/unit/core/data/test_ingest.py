"""Ingest: typed, content-hashed snapshots; idempotent per interval; bad data named precisely."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.foundation.errors import DataContractError, DataNotFoundError
from tests.unit.core.data.conftest import DAY

pytestmark = pytest.mark.unit


def test_snapshot_is_typed_filtered_and_hashed(setup) -> None:
    cfg, cat, raw = setup
    res = ingest(cfg, cat.lake, DAY)
    raw_df = pd.read_csv(raw)
    df = cat.lake.read_parquet(cat.snapshot_uri(DAY))
    assert res.rows_raw == len(raw_df)
    assert res.rows_filtered == int(raw_df["arr_delay"].isna().sum()) > 0
    assert res.rows == len(df) == len(raw_df) - res.rows_filtered
    assert list(df.columns) == list(cfg.data_schema.columns)
    assert str(df["time_hour"].dtype) == "datetime64[ns, UTC]" and str(df["late"].dtype) == "boolean"
    assert df["late"].tolist() == (df["arr_delay"] > 15).tolist()
    assert res.uri.endswith(f"data-{res.content_hash[:16]}.parquet")
    assert cat.manifest(DAY)["content_hash"] == res.content_hash


def test_reingest_same_data_is_unchanged_and_changed_data_replaces(setup) -> None:
    cfg, cat, raw = setup
    first = ingest(cfg, cat.lake, DAY)
    again = ingest(cfg, cat.lake, DAY)
    assert again.unchanged and again.content_hash == first.content_hash
    df = pd.read_csv(raw)
    df.iloc[:100].to_csv(raw, index=False)
    third = ingest(cfg, cat.lake, DAY)
    files = [n for n in cat.lake.listdir(cat.partition(DAY)) if n.startswith("data-")]
    assert not third.unchanged and third.content_hash != first.content_hash
    assert cat.manifest(DAY)["content_hash"] == third.content_hash
    assert len(cat.lake.read_parquet(cat.snapshot_uri(DAY))) == third.rows < first.rows
    # Snapshots are immutable: the first file stays for the lineage of any model trained on it.
    assert sorted(files) == sorted([first.uri.rsplit("/", 1)[1], third.uri.rsplit("/", 1)[1]])
    assert len(cat.lake.read_parquet(first.uri)) == first.rows


def test_bad_values_name_file_and_column_and_keep_everything(setup) -> None:
    cfg, cat, raw = setup
    good = ingest(cfg, cat.lake, DAY)
    df = pd.read_csv(raw, dtype=str)
    df.loc[5, "dep_delay"] = "about ten"
    df.to_csv(raw, index=False)
    before = raw.read_bytes()
    with pytest.raises(DataContractError) as e:
        ingest(cfg, cat.lake, DAY)
    assert f"{DAY}.csv: column 'dep_delay' (float) has non-numeric values 'about ten'" in str(e.value)
    assert raw.read_bytes() == before, "the raw file is never changed"
    assert cat.manifest(DAY)["content_hash"] == good.content_hash, "the snapshot is kept"


def test_missing_column_and_missing_file(setup, home: Path) -> None:
    cfg, cat, raw = setup
    pd.read_csv(raw).drop(columns=["carrier"]).to_csv(raw, index=False)
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['carrier'\]"):
        ingest(cfg, cat.lake, DAY)
    with pytest.raises(DataNotFoundError, match=r"flights/2013-03-05.csv: raw file not found"):
        ingest(cfg, cat.lake, "2013-03-05")
    assert cat.batches() == []


def test_no_temporary_files_are_left(setup, home: Path) -> None:
    cfg, cat, _ = setup
    ingest(cfg, cat.lake, DAY)
    files = [p for p in (home / "lake").rglob("*") if p.is_file()]
    assert files and not [p for p in files if p.name.startswith((".tmp-", "tmp-")) or ".staging" in p.parts]
