"""Raw frames made a snapshot's rows: declared columns typed, derived, filtered, checked against
the run's data interval, and hashed by content; the same for every kind of source."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Final

from airflow_mlops.core.data.sources.coerce import coerce_column
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataContractError

if TYPE_CHECKING:
    import pandas as pd


def normalize(df: pd.DataFrame, cfg: PipelineConfig, where: str) -> tuple[pd.DataFrame, int]:
    """The declared columns, typed, derived and filtered; and how many rows the filter dropped."""
    schema = cfg.data_schema
    if missing := [c for c in cfg.raw_columns if c not in df.columns]:
        raise DataContractError(f"{where}: missing column(s) {missing}; the file has {list(df.columns)}")
    out = df[cfg.raw_columns].copy()
    show = not schema.has_pii
    for col in cfg.raw_columns:
        out[col] = coerce_column(out[col], schema.columns[col], col, where, show)
    for col, expr in schema.derive.items():
        try:
            out[col] = out.eval(expr, engine="python")
        except Exception as e:
            raise DataContractError(f"{where}: schema.derive.{col}: {expr!r} failed: {e}") from e
        out[col] = coerce_column(out[col], schema.columns[col], col, where, show)
    dropped = 0
    if schema.row_filter:
        try:
            kept = out.query(schema.row_filter, engine="python")
        except Exception as e:
            raise DataContractError(f"{where}: schema.row_filter {schema.row_filter!r} failed: {e}") from e
        dropped = len(out) - len(kept)
        out = kept
    # Rows keep the file's order: a streamed batch is never sorted whole (training sorts its window).
    return out[list(schema.columns)].reset_index(drop=True), dropped


#: Version of :class:`ContentHash`, in each manifest. 2: rows in the file's order (1 sorted by time).
HASH_VERSION: Final = 2


class ContentHash:
    """SHA-256 of the column types and each row's values (pandas' row hash): independent of Parquet
    writer versions and of how the rows are split into frames."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._types: str | None = None

    def update(self, df: pd.DataFrame) -> ContentHash:
        import pandas as pd

        types = repr([(c, str(t)) for c, t in df.dtypes.items()])
        if self._types is None:
            self._types = types
            self._h.update(types.encode())
        elif types != self._types:  # pragma: no cover - normalize types every frame the same way
            raise ValueError(f"column types changed between frames: {self._types} then {types}")
        self._h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        return self

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def content_hash(df: pd.DataFrame) -> str:
    """The :class:`ContentHash` of a whole frame."""
    return ContentHash().update(df).hexdigest()


class IntervalCheck:
    """Refuse a file whose time column lies outside the run's data interval (a stale or misdated
    delivery), beyond the share ``schema.max_outside_interval`` allows; fed frame by frame."""

    def __init__(self, cfg: PipelineConfig, interval: tuple[datetime, datetime], where: str) -> None:
        import pandas as pd

        self.cfg, self.where = cfg, where
        self.start, self.end = (
            pd.Timestamp(t).tz_convert("UTC") if pd.Timestamp(t).tzinfo else pd.Timestamp(t, tz="UTC")
            for t in interval
        )
        self.outside = 0
        self.seen: list[pd.Timestamp] = []  # the earliest and latest time of each frame

    def add(self, df: pd.DataFrame) -> None:
        """``df`` is a normalized frame: :func:`coerce_column` made its time column UTC times."""
        import pandas as pd

        times = df[self.cfg.data_schema.time_column]
        self.outside += int((times.notna() & ((times < self.start) | (times >= self.end))).sum())
        self.seen += [t for t in (times.min(), times.max()) if pd.notna(t)]

    def check(self, rows: int) -> None:
        share = self.cfg.data_schema.max_outside_interval
        if self.outside > share * rows:
            col = self.cfg.data_schema.time_column
            first, last = (min(self.seen), max(self.seen)) if self.seen else (None, None)
            raise DataContractError(
                f"{self.where}: {self.outside} of {rows} rows have {col} outside the data interval "
                f"{self.start.isoformat()}..{self.end.isoformat()} (from {first} to {last}); "
                f"schema.max_outside_interval allows {share:.0%}"
            )
