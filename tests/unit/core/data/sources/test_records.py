"""A reader's frame is tied to the records a scan counted: each row gets its physical line (Parquet:
its row) as index, another row count is refused, and the index stays out of derive and row_filter."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.data.sources import records
from airflow_mlops.core.foundation.config import parse_pipeline
from airflow_mlops.core.foundation.errors import DataContractError
from tests.unit.core.data.sources.conftest import (
    PIPELINE,
    good_rows,
    lines_of,
    put,
    refused,
)

pytestmark = pytest.mark.unit


def test_derive_and_row_filter_never_see_the_line_numbers(home: Path) -> None:
    """Frames carry each record's line as their index; pandas' eval and query see an index's name
    as a variable, so a derive or filter using a name like "line" or "row" still fails as before."""
    import yaml

    d = yaml.safe_load(PIPELINE.replace("FMT", "csv").replace("FREE", ""))
    d["schema"]["row_filter"] = "line > 3"
    put(home, lines_of(good_rows()))
    cfg = parse_pipeline(yaml.safe_dump(d), "orders.yaml")
    refused(home, cfg, r"schema.row_filter 'line > 3' failed")


def test_scanned_lines_become_the_index_and_a_row_count_mismatch_is_refused() -> None:
    data = lines_of(good_rows(3)).replace("\n", "\n\n", 1).encode()
    lines = records.scan_bytes(data, "csv", "orders.csv")
    assert list(lines) == [3, 4, 5]
    placed = records.place(pd.DataFrame({"a": [1, 2, 3]}), lines, "orders.csv")
    assert placed.index.name == records.LINE and list(placed.index) == [3, 4, 5]
    with pytest.raises(
        DataContractError, match=r"orders.csv: the reader returned 2 rows where the file holds 3"
    ):
        records.place(pd.DataFrame({"a": [1, 2]}), lines, "orders.csv")
    assert list(records.number_rows(pd.DataFrame({"a": [1, 2]}), 10).index) == [11, 12]
