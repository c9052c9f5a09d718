"""Ingest streams: the same snapshot and hash however the file is read and split into frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.data import ingest as ingest_mod
from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.normalize import content_hash
from airflow_mlops.core.data.sources import rawfile
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.errors import DataContractError
from airflow_mlops.core.foundation.lake import Lake
from tests.unit.core.data.conftest import DAY

pytestmark = pytest.mark.unit


def _ways(monkeypatch: pytest.MonkeyPatch, way: str) -> list[bool]:
    """Force one of the three readers: pyarrow typed, pyarrow as strings, pandas whole; the
    ``typed`` flag of each pyarrow attempt is recorded."""
    real = rawfile.frames
    attempts: list[bool] = []

    def frames(fs, path, cfg, shown, *, typed):  # type: ignore[no-untyped-def]
        import pyarrow as pa

        attempts.append(typed)
        if (way == "strings" and typed) or way == "whole":
            raise pa.ArrowInvalid("forced for the test")
        return real(fs, path, cfg, shown, typed=typed)

    monkeypatch.setattr(rawfile, "frames", frames)
    return attempts


@pytest.mark.parametrize("way", ["typed", "strings", "whole"])
def test_every_reader_gives_the_same_snapshot_in_many_small_frames(
    setup, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    cfg, cat, raw = setup
    monkeypatch.setattr(rawfile, "BLOCK_BYTES", 8 << 10)  # about 80 rows a frame
    attempts = _ways(monkeypatch, way)
    res = ingest(cfg, cat.lake, DAY)
    assert attempts == {"typed": [True], "strings": [True, False], "whole": [True, False]}[way]
    snap = cat.lake.read_parquet(cat.snapshot_uri(DAY))
    # Written in many row groups (one per frame) unless read whole.
    with cat.lake.open_parquet(res.uri) as pf:
        groups = pf.num_row_groups
        types = {f.name: str(f.type) for f in pf.schema_arrow}
    assert groups == 1 if way == "whole" else groups > 5
    # Strings read into Arrow-backed pandas columns are written as plain Parquet strings.
    assert {types[c] for c in ("carrier", "origin", "dest")} == {"string"}
    # The hash fed frame by frame is the hash of the whole table; rows keep the file's order.
    assert res.content_hash == content_hash(snap)
    raw_df = pd.read_csv(raw)
    kept = raw_df[raw_df["arr_delay"].notna()].reset_index(drop=True)
    assert snap["flight"].tolist() == kept["flight"].tolist()
    assert res.rows == len(snap) == len(kept) and res.rows_raw == len(raw_df)
    # What the three readers produced is one and the same snapshot (same data file name).
    monkeypatch.undo()
    other = Catalog(Lake(cat.lake.root + "-other"), cfg.name)
    assert ingest(cfg, other.lake, DAY).content_hash == res.content_hash
    assert ingest_mod.HASH_VERSION == cat.manifest(DAY)["hash_version"] == 2


def test_a_bad_cell_late_in_the_file_is_quoted_and_nothing_is_left_half_built(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, cat, raw = setup
    monkeypatch.setattr(rawfile, "BLOCK_BYTES", 8 << 10)
    df = pd.read_csv(raw, dtype=str)
    df.loc[len(df) - 3, "distance"] = "far"
    df.to_csv(raw, index=False)
    with pytest.raises(DataContractError, match=r"column 'distance' \(float\) has non-numeric values 'far'"):
        ingest(cfg, cat.lake, DAY)
    assert cat.manifest(DAY) is None and cat.batches() == []
    staging = Path(cat.lake._p(cat.lake.root)) / ".staging"
    assert list(staging.iterdir()) == []
    kept = Path(cat.lake._p(cat.quarantine_dir(DAY))) / f"{DAY}.csv"
    assert kept.read_bytes() == raw.read_bytes()


@pytest.mark.parametrize("cut", [1, 5, -1], ids=["one-cell-short", "five-cells-short", "one-cell-more"])
def test_a_ragged_row_is_refused_with_its_line_and_field_counts(setup, cut: int) -> None:
    """pandas filled a short row with nulls (a shifted row, silently); every reader path now meets
    the scan first, which names the line and the field counts, and nothing is snapshotted."""
    cfg, cat, raw = setup
    lines = raw.read_text().splitlines()
    width = len(lines[0].split(","))
    cells = lines[3].split(",")
    lines[3] = ",".join(cells[:-cut] if cut > 0 else [*cells, "9"])
    raw.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataContractError) as e:
        ingest(cfg, cat.lake, DAY)
    assert f"line 4 has {width - cut} field(s), the header has {width}" in str(e.value)
    assert cat.manifest(DAY) is None
    assert (Path(cat.lake._p(cat.quarantine_dir(DAY))) / "reason.json").exists()
