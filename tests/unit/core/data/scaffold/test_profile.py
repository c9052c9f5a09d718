"""The sample read and typed as ingest types it; unreadable and empty samples named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.data import scaffold
from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.errors import DataContractError, DataNotFoundError
from airflow_mlops.core.foundation.lake import Lake
from tests.unit.core.data.scaffold.conftest import DS, mixed, sample, written

pytestmark = pytest.mark.unit


def test_types_are_those_ingest_accepts_and_the_suite_passes_on_the_sample(home: Path) -> None:
    from airflow_mlops.core.data.validate import validate_snapshot

    path = sample(home, "shop", mixed())
    sc, yaml_path, suite_path = written(home, "shop", path, "label", time_column="at")
    kinds = {c: p.kind for c, p in sc.columns.items()}
    assert kinds == {
        "order_id": "string",
        "row": "int",
        "qty": "int",
        "price": "float",
        "weight": "float",
        "member": "bool",
        "shop": "category",
        "comment": "string",
        "country": "string",
        "empty": "string",
        "day": "date",
        "at": "datetime",
        "label": "category",
    }
    cfg = load_pipeline(yaml_path)
    assert dict(cfg.data_schema.columns) == kinds and cfg.data_schema.time_column == "at"
    lake = Lake((home / "lake").as_uri())
    snap = ingest(cfg, lake, DS)
    assert snap.rows == 60 and snap.columns["member"] == "boolean" and snap.columns["qty"] == "Int64"
    result = validate_snapshot(cfg, lake, DS, suite_file=suite_path)
    assert result.success, result.failure_message()
    assert result.evaluated > 2 * len(kinds), "types, empties, ranges and sets were all checked"


def test_a_file_that_typed_its_columns_keeps_their_types(home: Path) -> None:
    """Parquet says float: 2.0 stays a float; JSON's true/false (with a gap) are bools, not numbers."""
    df = pd.DataFrame(
        {
            "size": [2.0, 3.0, 4.0, 5.0] * 10,
            "count": [1, 2, 3, 4] * 10,
            "flag": [True, False, None, True] * 10,
            "y": [0.5, 1.5, 2.5, 3.5] * 10,
        }
    )
    for fmt in ("parquet", "jsonl"):
        sc = scaffold.plan(f"typed_{fmt}", sample(home, f"typed_{fmt}", df, fmt), "y")
        assert sc.format == fmt
        assert {c: p.kind for c, p in sc.columns.items()} == {
            "size": "float",
            "count": "int",
            "flag": "bool",
            "y": "float",
        }, fmt


def test_unreadable_and_empty_samples_are_named(home: Path, tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"nothing\.csv: sample file not found"):
        scaffold.plan("x", tmp_path / "nothing.csv", "y")
    with pytest.raises(DataContractError, match=r"cannot be read"):
        scaffold.plan("x", tmp_path, "y", fmt="csv")  # a folder
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataContractError, match=r"broken\.parquet: cannot be read as parquet"):
        scaffold.plan("x", broken, "y")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataContractError, match=r"empty\.csv: the file is empty"):
        scaffold.plan("x", empty, "y")
    header = tmp_path / "header.csv"
    header.write_text("x,y\n")
    with pytest.raises(DataContractError, match=r"header\.csv: the sample has no rows"):
        scaffold.plan("x", header, "y")
    big = tmp_path / "big.csv"
    with big.open("wb") as f:  # sparse: no disk used
        f.truncate(scaffold.MAX_SAMPLE_BYTES + 1)
    with pytest.raises(DataContractError, match=r"big\.csv: the sample is 256 MiB, over the 256 MiB .* awk"):
        scaffold.plan("x", big, "y")
