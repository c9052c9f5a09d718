"""Raw frames made rows: declared columns typed, derived and filtered; the content hash does not
depend on how the rows were split into frames; rows outside the data interval are counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from airflow_mlops.core.data.normalize import ContentHash, IntervalCheck, content_hash, normalize
from airflow_mlops.core.foundation.errors import DataContractError
from tests.unit.core.data.sources.conftest import pipeline

pytestmark = pytest.mark.unit


def raw(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "at": [f"2024-03-01T{h:02d}:00:00Z" for h in range(n)],
            "shop": ["north", "south"] * (n // 2),
            "amount": ["12.5"] * n,
            "units": [str(h) for h in range(n)],
            "note": ["ok"] * n,
            "returned": ["false"] * n,
            "ignored": ["x"] * n,
        }
    )


def test_declared_columns_are_kept_typed_and_a_missing_one_is_named() -> None:
    out, dropped = normalize(raw(), pipeline(), "orders.csv")
    assert list(out.columns) == ["at", "shop", "amount", "units", "note", "returned"]
    assert str(out["units"].dtype) == "Int64" and str(out["at"].dtype).startswith("datetime64")
    assert dropped == 0
    with pytest.raises(DataContractError, match=r"orders.csv: missing column\(s\) \['units'\]"):
        normalize(raw().drop(columns="units"), pipeline(), "orders.csv")


def test_the_hash_is_the_same_frame_by_frame_and_changes_with_a_value() -> None:
    out, _ = normalize(raw(6), pipeline(), "orders.csv")
    assert ContentHash().update(out[:2]).update(out[2:]).hexdigest() == content_hash(out)
    changed = out.copy()
    changed.loc[0, "units"] = 99
    assert content_hash(changed) != content_hash(out)


def test_rows_outside_the_interval_are_refused_past_the_allowed_share() -> None:
    out, _ = normalize(raw(4), pipeline(), "orders.csv")
    check = IntervalCheck(
        pipeline(), (datetime(2024, 3, 1, 2, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)), "orders.csv"
    )
    check.add(out)
    assert check.outside == 2
    with pytest.raises(DataContractError, match=r"orders.csv: 2 of 4 rows have at outside the data interval"):
        check.check(4)
