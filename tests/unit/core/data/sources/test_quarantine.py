"""The quarantine keeps a refused file's bytes (or only a note why not) beside the reason."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pytest

from airflow_mlops.core.data.sources.quarantine import quarantine
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.lake import Lake

pytestmark = pytest.mark.unit


def test_the_file_is_copied_with_its_reason_or_only_the_reason_and_a_note(home: Path) -> None:
    raw = home / "raw" / "a.csv"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(b"x,y\n1,2\n")
    cat = Catalog(Lake((home / "lake").as_uri()), "orders")
    fs = fsspec.filesystem("file")
    quarantine(cat, "2024-03-01", str(raw), (fs, [str(raw)]), "bad", "run-1", extra={"statement": "s"})
    kept = home / "lake" / "orders" / "quarantine" / "ds=2024-03-01"
    assert (kept / "a.csv").read_bytes() == raw.read_bytes()
    record = json.loads((kept / "reason.json").read_text())
    assert record["file"] == "a.csv" and record["reason"] == "bad" and record["statement"] == "s"
    quarantine(cat, "2024-03-02", str(raw), None, "bad", None, note="not copied: pii")
    record = json.loads(
        (home / "lake" / "orders" / "quarantine" / "ds=2024-03-02" / "reason.json").read_text()
    )
    assert record["files"] == [] and record["note"] == "not copied: pii"
