"""Tying what a reader returned to the records a scan counted, whatever the reader: a frame must
have as many rows as :mod:`csvscan` or :mod:`jsonscan` counted records, and then carries their
lines as its index so that later errors (:mod:`coerce`) name the line; Parquet frames carry their
row numbers. A frame with another number of rows is never trusted.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from typing import TYPE_CHECKING, Final

from airflow_mlops.core.data.sources import textscan
from airflow_mlops.core.data.sources.csvscan import CsvScan
from airflow_mlops.core.data.sources.jsonscan import JsonlScan
from airflow_mlops.core.foundation.errors import DataContractError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Index names of frames whose rows are a file's lines or rows: names no column or expression
#: uses (``schema.derive`` and ``row_filter`` see index names as variables).
LINE: Final = "__raw_line__"
ROW: Final = "__raw_row__"
LABELS: Final = {LINE: "line", ROW: "row"}


def scan_bytes(
    data: bytes,
    fmt: str,
    where: str,
    *,
    free_text: Collection[str] = (),
    show: bool = True,
) -> np.ndarray:
    """The physical line of every record of a whole CSV or JSON Lines file held in memory, by the
    scan the block readers use (refusing what it refuses)."""
    import numpy as np

    f = io.BytesIO(data)
    parts: list[np.ndarray] = []
    if fmt == "jsonl":
        jscan = JsonlScan(where, show=show)
        parts = [jscan.feed(b) for b in textscan.blocks(f, textscan.BLOCK_BYTES)]
    else:
        scan = CsvScan(f.readline(), where, free_text, show=show)
        parts = [scan.feed(b)[0] for b in textscan.blocks(f, textscan.BLOCK_BYTES)]
        scan.finish()
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def count_mismatch(got: int, counted: int, where: str) -> str:
    return (
        f"{where}: the reader returned {got} rows where the file holds {counted} records; "
        "refused rather than trusted"
    )


def place(df: pd.DataFrame, lines: np.ndarray, where: str) -> pd.DataFrame:
    """``df`` with each row's physical line as its index; another row count than the scan's is a
    contract error (a reader that merged, split or dropped records)."""
    import pandas as pd

    if len(df) != len(lines):
        raise DataContractError(count_mismatch(len(df), len(lines), where))
    df.index = pd.Index(lines, name=LINE)
    return df


def number_rows(df: pd.DataFrame, first: int) -> pd.DataFrame:
    """``df`` (rows ``first``.. of a Parquet file, 0-based) indexed by 1-based row number."""
    import pandas as pd

    df.index = pd.RangeIndex(first + 1, first + 1 + len(df), name=ROW)
    return df
