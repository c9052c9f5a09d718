"""JSON Lines sources (issue 11, part 2): the same snapshot as the same rows in CSV, and bad lines
named by their number."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.sources import rawfile
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.errors import DataContractError
from airflow_mlops.core.foundation.lake import Lake
from dev.datasets import write_flights
from tests.unit.core.conftest import FLIGHTS_YAML, flights_reading

pytestmark = pytest.mark.unit
DAY = "2013-03-04"


def _jsonl_pipeline() -> PipelineConfig:
    cfg = flights_reading("${AIRFLOW_MLOPS_RAW_ROOT}/flights/{ds}.jsonl")
    assert cfg.source.file_format == "jsonl"  # known from the suffix
    return cfg


@pytest.fixture
def days(home: Path) -> tuple[Path, Path]:
    """One real day as the CSV a source exports and as JSON Lines of the same records."""
    write_flights((home / "raw").as_uri(), [DAY])
    csv = home / "raw" / "flights" / f"{DAY}.csv"
    jsonl = csv.with_suffix(".jsonl")
    pd.read_csv(csv).to_json(jsonl, orient="records", lines=True, double_precision=15)
    return csv, jsonl


def test_json_lines_give_the_snapshot_the_csv_gives(
    home: Path, days, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rawfile, "BLOCK_BYTES", 16 << 10)  # many blocks, each of whole lines
    from_csv = ingest(load_pipeline(FLIGHTS_YAML), Lake((home / "csv-lake").as_uri()), DAY)
    lake = Lake((home / "lake").as_uri())
    from_jsonl = ingest(_jsonl_pipeline(), lake, DAY)
    assert from_jsonl.content_hash == from_csv.content_hash and from_jsonl.rows == from_csv.rows
    assert from_jsonl.source_uri.endswith(f"flights/{DAY}.jsonl")
    with lake.open_parquet(from_jsonl.uri) as pf:
        assert pf.num_row_groups > 5  # streamed block by block, not read whole


def _rewrite(path: Path, line: int, change: dict | str) -> None:
    lines = path.read_text().splitlines()
    lines[line - 1] = change if isinstance(change, str) else json.dumps(json.loads(lines[line - 1]) | change)
    path.write_text("\n".join(lines) + "\n")


def test_a_value_of_another_type_is_quoted_and_the_file_quarantined(home: Path, days) -> None:
    _, jsonl = days
    _rewrite(jsonl, 700, {"distance": "far"})
    lake = Lake((home / "lake").as_uri())
    with pytest.raises(DataContractError, match=r"column 'distance' \(float\) has non-numeric values 'far'"):
        ingest(_jsonl_pipeline(), lake, DAY)
    cat = Catalog(lake, "flights_delay")
    assert cat.manifest(DAY) is None
    assert (Path(lake._p(cat.quarantine_dir(DAY))) / f"{DAY}.jsonl").read_bytes() == jsonl.read_bytes()


def test_a_line_that_is_not_json_is_named_by_its_number(home: Path, days) -> None:
    _, jsonl = days
    _rewrite(jsonl, 3, '{"carrier": "UA", "flight": 1545')
    with pytest.raises(
        DataContractError, match=rf"{DAY}.jsonl: line 3 is not JSON \(Expecting ',' delimiter"
    ):
        ingest(_jsonl_pipeline(), Lake((home / "lake").as_uri()), DAY)


def test_a_declared_column_no_record_has_is_missing(home: Path, days) -> None:
    _, jsonl = days
    df = pd.read_json(jsonl, lines=True).drop(columns=["dest"])
    df.to_json(jsonl, orient="records", lines=True)
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['dest'\]"):
        ingest(_jsonl_pipeline(), Lake((home / "lake").as_uri()), DAY)
