"""Reading a sample and typing each column as ingest would (through its own coercion,
:func:`.coerce_column`: every type written is one ingest accepts for the same bytes), and what the
sample shows of it."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation.config import ColumnType, RawFormat
from airflow_mlops.core.foundation.errors import DataContractError, DataNotFoundError

if TYPE_CHECKING:
    import pandas as pd

#: A string column with more distinct values than this is free text (or a code of too many
#: values), not a category: one-hot encoding it would learn the sample by heart.
MAX_CATEGORIES: Final = 250
#: A sample is read and profiled whole, in memory (pandas takes several times a CSV's size): a
#: bigger file is refused with a way to thin it, not read until the machine runs out of memory.
MAX_SAMPLE_BYTES: Final = 256 * 2**20
#: Values a type is tried on before the whole column: most text fails on the first of them, and
#: parsing a long column of words as dates one by one costs seconds.
PROBE_ROWS: Final = 50
_INT_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")


@dataclass(frozen=True)
class ColumnProfile:
    """What the sample shows of one column, typed as ingest would type it."""

    name: str
    kind: ColumnType
    rows: int
    nulls: int
    distinct: int
    minimum: float | None = None
    maximum: float | None = None
    #: The distinct values, sorted, when there are at most MAX_CATEGORIES of them.
    values: tuple[Any, ...] | None = None
    #: Some value holds a space: words, not a code.
    spaced: bool = False

    @property
    def null_share(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0


def read_sample(path: Path, fmt: RawFormat) -> pd.DataFrame:
    """The sample as ingest reads a raw file (CSV cells as text), or an error naming the file."""
    from airflow_mlops.core.data.sources.files import parse_raw

    try:
        size = path.stat().st_size
        if size > MAX_SAMPLE_BYTES:
            raise DataContractError(
                f"{path}: the sample is {size / 2**20:,.0f} MiB, over the {MAX_SAMPLE_BYTES // 2**20} MiB "
                "a sample may be (it is read whole); pass a part of it that spans its variety, for "
                "example every 100th line of a CSV: awk 'NR == 1 || NR % 100 == 0' FILE > sample.csv"
            )
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise DataNotFoundError(f"{path}: sample file not found") from e
    except OSError as e:
        raise DataContractError(f"{path}: the sample cannot be read: {e.strerror or e}") from e
    df = parse_raw(data, fmt, str(path))
    if not len(df.columns):
        raise DataContractError(f"{path}: the sample has no columns")
    if odd := [c for c in df.columns if not isinstance(c, str) or not c.strip()]:
        raise DataContractError(f"{path}: column names must be non-empty text, not {odd}")
    if not len(df):
        raise DataContractError(f"{path}: the sample has no rows (only a header?)")
    return df


def _text(s: pd.Series) -> pd.Series:
    """The values as they would be written in a CSV cell (nulls stay null)."""
    return s.astype("object").where(s.notna(), None).map(lambda v: v if v is None else str(v))


def _candidates(s: pd.Series) -> list[ColumnType]:
    """Types to try, most specific first. A column the file typed (Parquet, JSON numbers) keeps
    its type; text is tried as int, float, bool, time, in that order."""
    import pandas as pd

    api = pd.api.types
    if api.is_bool_dtype(s.dtype):
        return ["bool"]
    if api.is_integer_dtype(s.dtype):
        return ["int"]
    if api.is_float_dtype(s.dtype):
        return ["float"]
    if api.is_datetime64_any_dtype(s.dtype):
        return ["datetime"]
    present = _text(s.dropna())
    out: list[ColumnType] = []
    if present.map(lambda v: bool(_INT_TEXT.match(v))).all():
        out.append("int")  # digits only: "151.0" is a float, as written
    return [*out, "float", "bool", "datetime"]


def infer_column(s: pd.Series, column: str, where: str) -> tuple[ColumnType, pd.Series]:
    """The first type under which ingest's coercion accepts every value of ``s``, and the column
    coerced to it; text that is nothing else is a string."""
    from airflow_mlops.core.data.sources.coerce import coerce_column

    if s.notna().any():
        for kind in _candidates(s):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pandas' "could not infer format" on non-dates
                    # The text form first: Python bools in a JSON column must not pass as numbers.
                    if s.dtype == object:
                        coerce_column(_text(s.dropna().head(PROBE_ROWS)), kind, column, where)
                        coerce_column(_text(s), kind, column, where)
                    out = coerce_column(s, kind, column, where)
            except (DataContractError, ValueError, TypeError, OverflowError):
                continue
            times = out.dropna()
            if kind == "datetime" and len(times) and (times == times.dt.normalize()).all():
                return "date", out  # every time at midnight: the column holds days
            return kind, out
    return "string", coerce_column(s, "string", column, where)


def profile(s: pd.Series, column: str, where: str) -> ColumnProfile:
    """A column's type as ingest would type it, and what the sample shows of it."""
    import numpy as np

    kind, out = infer_column(s, column, where)
    present = out.dropna()
    distinct = int(present.nunique())
    low = high = None
    if kind in ("int", "float") and len(present):
        finite = present.astype("float64")
        finite = finite[np.isfinite(finite)]
        if len(finite):
            low, high = float(finite.min()), float(finite.max())
    values = None
    if distinct <= MAX_CATEGORIES and kind in ("int", "string", "bool"):
        values = tuple(sorted(_plain(v) for v in present.unique()))
    spaced = kind == "string" and bool(present.astype("string").str.contains(r"\s", regex=True).any())
    return ColumnProfile(column, kind, len(out), int(out.isna().sum()), distinct, low, high, values, spaced)


def _plain(v: Any) -> Any:
    """A numpy or pandas scalar as the JSON value it stands for."""
    if isinstance(v, bool | str | int | float):
        return v
    item = getattr(v, "item", None)
    return item() if callable(item) else str(v)
