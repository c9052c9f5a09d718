"""Several raw files per interval (issue 11, part 2): a pattern in source.uri reads every match in
name order as one snapshot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.errors import DataContractError, DataNotFoundError
from airflow_mlops.core.foundation.lake import Lake
from dev.datasets import write_flights
from tests.unit.core.conftest import FLIGHTS_YAML, flights_reading

pytestmark = pytest.mark.unit
DAY = "2013-03-04"


def _parts_pipeline() -> PipelineConfig:
    return flights_reading("${AIRFLOW_MLOPS_RAW_ROOT}/flights/{ds}/part-*.csv")


@pytest.fixture
def parts(home: Path) -> tuple[Path, list[Path]]:
    """One real day as one file, and the same rows as three parts written out of name order."""
    write_flights((home / "raw").as_uri(), [DAY])
    whole = home / "raw" / "flights" / f"{DAY}.csv"
    folder = home / "raw" / "flights" / DAY
    folder.mkdir()
    df = pd.read_csv(whole, dtype=str, keep_default_na=False)
    third = -(-len(df) // 3)
    files = [folder / f"part-{i}.csv" for i in range(3)]
    for i in (2, 0, 1):
        df.iloc[i * third : (i + 1) * third].to_csv(files[i], index=False)
    return whole, files


def test_the_parts_of_a_day_make_the_snapshot_the_whole_file_makes(home: Path, parts) -> None:
    _, files = parts
    whole = ingest(load_pipeline(FLIGHTS_YAML), Lake((home / "whole-lake").as_uri()), DAY)
    lake = Lake((home / "lake").as_uri())
    res = ingest(_parts_pipeline(), lake, DAY)
    assert res.content_hash == whole.content_hash and res.rows_raw == whole.rows_raw
    manifest = Catalog(lake, "flights_delay").manifest(DAY)
    assert manifest is not None and manifest["source_files"] == [f.name for f in files]
    assert manifest["source_uri"].endswith(f"flights/{DAY}/part-*.csv")


def test_a_bad_cell_names_its_part_and_every_part_is_quarantined(home: Path, parts) -> None:
    _, files = parts
    df = pd.read_csv(files[1], dtype=str)
    df.loc[5, "distance"] = "far"
    df.to_csv(files[1], index=False)
    lake = Lake((home / "lake").as_uri())
    with pytest.raises(
        DataContractError,
        match=r"part-\*\.csv \(part-1\.csv\): column 'distance' \(float\) has non-numeric values 'far'",
    ):
        ingest(_parts_pipeline(), lake, DAY)
    cat = Catalog(lake, "flights_delay")
    kept = Path(lake._p(cat.quarantine_dir(DAY)))
    assert sorted(p.name for p in kept.iterdir()) == ["part-0.csv", "part-1.csv", "part-2.csv", "reason.json"]
    assert (kept / "part-1.csv").read_bytes() == files[1].read_bytes()
    assert lake.read_json(f"{cat.quarantine_dir(DAY)}/reason.json")["files"] == [f.name for f in files]


def test_an_empty_part_is_named_and_no_match_is_no_data(home: Path, parts) -> None:
    _, files = parts
    files[2].write_text("")
    with pytest.raises(DataContractError, match=r"part-\*\.csv \(part-2\.csv\): the file is empty"):
        ingest(_parts_pipeline(), Lake((home / "lake").as_uri()), DAY)
    with pytest.raises(DataNotFoundError, match=r"2013-03-05/part-\*\.csv: no raw file matches"):
        ingest(_parts_pipeline(), Lake((home / "lake").as_uri()), "2013-03-05")
