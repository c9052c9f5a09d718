"""Converting a raw column to its declared type, refusing what does not convert or does not fit.

Every reader (pyarrow, pandas, JSON, a database) hands its frames here, so the checks hold on every
path; a frame's index is its records' lines (:data:`records.LINE`; Parquet: rows), which errors
name. A number outside its type is refused, never wrapped (past int64 it became -2**63), cast to
float (losing digits) nor made infinite.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from airflow_mlops.core.data.sources.records import LABELS
from airflow_mlops.core.foundation.errors import DataContractError

if TYPE_CHECKING:
    import pandas as pd

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DATETIME_RANGE = "pandas' timestamps hold 1677-09-21 to 2262-04-11"
_INT64, _FINITE = f"int64's range [{INT64_MIN}, {INT64_MAX}]", "float64's finite range"


def _places(index: pd.Index, positions: list[object]) -> list[str]:
    """How errors name frame rows: by line (text files), by row (Parquet), else by data row."""
    label = LABELS.get(index.name)
    if label:
        return [f"{label} {p}" for p in positions]
    return [f"data row {int(p) + 1}" for p in positions]  # type: ignore[call-overload]


def shown_values(values: pd.Series, show: bool) -> str:
    """Up to three of ``values`` with where each is; only where when ``show`` is false (pii)."""
    if show:
        first = values[~values.duplicated()].head(3)
        places = _places(values.index, list(first.index))
        return ", ".join(f"{v!r} ({p})" for v, p in zip(first, places, strict=True))
    if values.index.name in LABELS:
        where = ", ".join(_places(values.index, list(values.index[:3])))
        return f"on {where} (values not shown: the pipeline declares schema.pii)"
    rows = [int(i) + 1 for i in values.index[:3]]
    return f"in data row(s) {rows} (values not shown: the pipeline declares schema.pii)"


def _bad_examples(raw: pd.Series, coerced: pd.Series, show: bool = True) -> str:
    mask = raw.notna() & coerced.isna()
    return shown_values(raw[mask], show) if mask.any() else ""


def _exactly_outside(value: object) -> bool:
    """Whether a raw integer cell is outside int64, compared exactly (not through a float)."""
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        return True  # to_numeric read it as a number beyond int64 (e.g. "inf")
    return not d.is_finite() or not INT64_MIN <= d <= INT64_MAX


def _overflows(value: object) -> bool:
    try:
        return math.isinf(float(str(value).strip()))
    except ValueError:
        return False


def _int_outside(raw: pd.Series, num: pd.Series) -> pd.Series:
    """Cells whose number is outside int64: near its bounds in floating point, then exactly."""
    import numpy as np

    if num.dtype.kind == "u":
        return num > INT64_MAX
    as_float = num.astype("float64")
    near = as_float.notna() & ~(np.abs(as_float) < 2.0**62)
    if not near.any():
        return near
    near[near] = [_exactly_outside(v) for v in raw[near]]
    return near


def _refuse_outside(
    raw: pd.Series, mask: pd.Series, kind: str, what: str, col: str, where: str, show: bool
) -> None:
    if mask.any():
        raise DataContractError(
            f"{where}: column {col!r} ({kind}) has value(s) outside {what}: {shown_values(raw[mask], show)}"
        )


def _check_float(raw: pd.Series, out: pd.Series, col: str, where: str, show: bool) -> None:
    import numpy as np
    import pandas as pd

    bad = pd.Series(np.isinf(out.to_numpy(dtype="float64", na_value=np.nan)), index=out.index)
    _refuse_outside(raw, bad, "float", _FINITE, col, where, show)


def coerce_column(s: pd.Series, kind: str, column: str, where: str, show: bool = True) -> pd.Series:
    """Convert one column to its declared type; a value that does not convert, or falls outside
    what the type holds, is a contract error (quoting the value unless ``show`` is false)."""
    import numpy as np
    import pandas as pd

    typed = {"int": pd.Int64Dtype(), "float": np.dtype("float64"), "bool": pd.BooleanDtype()}.get(kind)
    if typed is not None and s.dtype == typed:
        if kind == "float":  # a reader parses 1e999 as infinity
            _check_float(s, s, column, where, show)
        return s  # typed by the reader already: nothing else can be wrong
    if kind in ("int", "float"):
        out = pd.to_numeric(s, errors="coerce")
        unread = s.notna() & out.isna()
        if unread.any():  # "1e999" is a number, only too large for any float
            huge = unread.copy()
            huge[unread] = [_overflows(v) for v in s[unread]]
            _refuse_outside(s, huge, kind, _INT64 if kind == "int" else _FINITE, column, where, show)
        if unread.any():
            raise DataContractError(
                f"{where}: column {column!r} ({kind}) has non-numeric values {shown_values(s[unread], show)}"
            )
        if kind == "float":
            _check_float(s, out, column, where, show)
            return out.astype("float64")
        outside = _int_outside(s, out)
        _refuse_outside(s, outside, kind, _INT64, column, where, show)
        if out.dtype.kind == "f":
            frac = out.notna() & (out % 1 != 0)
            if frac.any():
                shown = str(list(out[frac].head(3))) if show else shown_values(out[frac], show)
                if show:
                    shown += " (" + ", ".join(_places(out.index, list(out[frac].index[:3]))) + ")"
                raise DataContractError(f"{where}: column {column!r} (int) has fractional values {shown}")
            # Whole floats within int64: exact up to 2**53, and a float cell is read as written.
            exact = out.notna() & (np.abs(out) >= 2.0**53)
            if exact.any():
                typed_out = out.astype("Int64")
                typed_out[exact] = [int(Decimal(str(v).strip())) for v in s[exact]]
                return typed_out
        return out.astype("Int64")
    if kind in ("string", "category"):
        return s if isinstance(s.dtype, pd.StringDtype) else s.astype("string")  # either storage
    if kind == "bool":
        return _bool(s, column, where, show)
    if kind in ("datetime", "date"):
        if isinstance(s.dtype, pd.DatetimeTZDtype) and str(s.dtype.tz) == "UTC":
            return s.dt.normalize() if kind == "date" else s  # typed by the reader already
        out = pd.to_datetime(s, errors="coerce", utc=True)
        mask = s.notna() & out.isna()
        if mask.any():
            bad = shown_values(s[mask], show)
            note = f" ({_DATETIME_RANGE})" if _beyond_timestamps(s[mask]) else ""
            raise DataContractError(f"{where}: column {column!r} ({kind}) has unparseable values {bad}{note}")
        return out.dt.normalize() if kind == "date" else out
    raise DataContractError(f"{where}: column {column!r} has unknown type {kind!r}")  # pragma: no cover


def _beyond_timestamps(values: pd.Series) -> bool:
    """Whether one of the first bad times is a real date pandas' nanosecond timestamps cannot hold."""
    import pandas as pd

    for v in values.head(3):
        try:
            t = pd.Timestamp(v)  # pandas 2 holds far dates at a coarser unit than ns
        except pd.errors.OutOfBoundsDatetime:
            return True
        except (ValueError, TypeError):
            continue
        if t.tzinfo is not None:
            t = t.tz_localize(None)
        if not pd.Timestamp.min <= t <= pd.Timestamp.max:
            return True
    return False


#: The words a bool cell may be (any case), for pandas here and pyarrow's reader (:mod:`rawfile`).
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes", "t", "1.0"), ("false", "0", "no", "f", "0.0")
_BOOLS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}


def _bool(s: pd.Series, column: str, where: str, show: bool) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean")
    out = s.astype("string").str.strip().str.lower().map(_BOOLS)
    if bad := _bad_examples(s, out, show):
        raise DataContractError(f"{where}: column {column!r} (bool) has values {bad}")
    return out.astype("boolean")
