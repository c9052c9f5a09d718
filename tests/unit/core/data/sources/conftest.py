"""What the record tests of the sources share: an orders pipeline for any file format, its raw
file, and ingest run so that a refusal is checked to be named, quarantined and not snapshotted;
``way`` forces each reader path (pyarrow typed, the string re-read, pandas whole, tiny blocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.sources import rawfile, textscan
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, parse_pipeline
from airflow_mlops.core.foundation.errors import DataContractError
from airflow_mlops.core.foundation.lake import Lake

DAY = "2024-03-01"
HEADER = "at,shop,amount,units,note,returned"
PIPELINE = """
name: orders
source:
  uri: ${AIRFLOW_MLOPS_RAW_ROOT}/orders/{ds}.FMT
schema:
  columns:
    at: datetime
    shop: category
    amount: float
    units: int
    note: string
    returned: bool
  target: returned
  task: classification
  time_column: at
FREE
features:
  numeric: [amount, units]
  categorical: [shop]
model:
  estimator: sklearn.linear_model.LogisticRegression
split:
  training_window_days: 7
  test_fraction: 0.25
  min_training_rows: 10
metrics: [roc_auc]
gate:
  metric: roc_auc
  minimum: 0.5
drift:
  columns: [amount]
validation:
  suite: orders.json
schedules:
  start_date: 2024-03-01
"""


def pipeline(fmt: str = "csv", free_text: list[str] | None = None) -> PipelineConfig:
    free = f"  free_text: {json.dumps(free_text)}" if free_text is not None else ""
    return parse_pipeline(PIPELINE.replace("FMT", fmt).replace("FREE", free), "orders.yaml")


def row(hour: int, shop: str = "north", amount: str = "12.5", units: str = "3", note: str = "ok") -> str:
    return f"2024-03-01T{hour:02d}:00:00Z,{shop},{amount},{units},{note},false"


def good_rows(n: int = 8) -> list[str]:
    return [row(h, shop=("north", "south")[h % 2], units=str(h)) for h in range(n)]


def force_path(way: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force one reader path: pyarrow typed (or ``pyarrow``), pyarrow as strings, pandas whole; or
    the typed path in blocks of 64 bytes, so that records and quoted values cross block boundaries."""
    real = rawfile.frames

    def frames(fs, paths, cfg, shown, *, typed):  # type: ignore[no-untyped-def]
        if (way == "strings" and typed) or way == "whole":
            raise pa.ArrowInvalid("forced for the test")
        return real(fs, paths, cfg, shown, typed=typed)

    monkeypatch.setattr(rawfile, "frames", frames)
    if way == "tiny-blocks":
        monkeypatch.setattr(rawfile, "BLOCK_BYTES", 64)
        monkeypatch.setattr(textscan, "BLOCK_BYTES", 64)
    return way


@pytest.fixture(params=["typed", "strings", "whole", "tiny-blocks"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return force_path(str(request.param), monkeypatch)


def put(home: Path, content: bytes | str, fmt: str = "csv") -> Path:
    path = home / "raw" / "orders" / f"{DAY}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def refused(home: Path, cfg: PipelineConfig, pattern: str) -> str:
    """Ingest refuses the file with ``pattern`` (a regex) in its message, naming the file; the
    file is quarantined with the reason, and no snapshot is written."""
    lake = Lake((home / "lake").as_uri())
    with pytest.raises(DataContractError, match=pattern) as e:
        ingest(cfg, lake, DAY)
    msg = str(e.value)
    assert f"orders/{DAY}.{cfg.source.file_format}" in msg
    cat = Catalog(lake, cfg.name)
    assert cat.manifest(DAY) is None
    kept = home / "lake" / "orders" / "quarantine" / f"ds={DAY}"
    assert json.loads((kept / "reason.json").read_text())["reason"] == msg
    assert (kept / f"{DAY}.{cfg.source.file_format}").exists()
    return msg


def accepted(home: Path, cfg: PipelineConfig):  # type: ignore[no-untyped-def]
    lake = Lake((home / "lake").as_uri())
    res = ingest(cfg, lake, DAY)
    return res, lake.read_parquet(Catalog(lake, cfg.name).snapshot_uri(DAY))


def lines_of(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"
