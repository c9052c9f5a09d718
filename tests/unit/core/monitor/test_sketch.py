"""One-pass column summaries: chunks summarize like the whole, and a histogram keeps the distance.

Whether the methods computed from these summaries equal Evidently's is tests/unit/core/monitor/test_methods.py.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from airflow_mlops.core.monitor import methods, sketch

pytestmark = pytest.mark.unit


def test_chunks_summarize_like_the_whole(flights_by_day: dict[date, pd.DataFrame]) -> None:
    day = pa.Table.from_pandas(flights_by_day[date(2013, 7, 10)], preserve_index=False)
    for col, kind in (("dep_delay", "num"), ("carrier", "cat"), ("time_hour", "num")):
        whole, parts = sketch.Sketch(kind), sketch.Sketch(kind)  # type: ignore[arg-type]
        whole.add(day.column(col))
        for start in range(0, day.num_rows, 97):
            parts.add(day.column(col).slice(start, 97))
        assert (parts.rows, parts.missing, parts.labels) == (whole.rows, whole.missing, whole.labels)
        assert (
            parts.stats() == pytest.approx(whole.stats()) if kind == "num" else parts.stats() == whole.stats()
        )
        np.testing.assert_array_equal(parts.atoms()[0], whole.atoms()[0])
        np.testing.assert_array_equal(parts.atoms()[1], whole.atoms()[1])


def test_past_the_distinct_limit_a_histogram_keeps_the_distance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Continuous values in chunks that keep widening the range: the Wasserstein distance from the
    histogram stays within a thousandth of the exact one, and no row is lost."""
    from scipy import stats

    monkeypatch.setattr(sketch, "MAX_DISTINCT", 500)
    rng = np.random.default_rng(7)
    ref_values = rng.normal(0, 1, 5000)
    cur_values = np.concatenate([rng.normal(0.3, 1, 20_000), rng.normal(8, 3, 2000), [-40.0, np.nan]])
    ref, cur = sketch.Sketch("num"), sketch.Sketch("num")
    ref.add(pa.array(ref_values))
    for start in range(0, len(cur_values), 1000):
        cur.add(pa.array(cur_values[start : start + 1000], from_pandas=True))
    assert ref.hist is not None and cur.hist is not None
    assert (cur.rows, cur.missing, cur.atoms()[1].sum()) == (len(cur_values), 1, len(cur_values) - 1)
    finite = cur_values[np.isfinite(cur_values)]
    assert (cur.low, cur.high) == (finite.min(), finite.max())
    exact = stats.wasserstein_distance(ref_values, finite) / np.std(ref_values)
    ours = methods.METHODS["wasserstein"].summary
    assert ours is not None and ours(ref, cur) == pytest.approx(exact, abs=1e-3)
    assert cur.stats()["mean"] == pytest.approx(finite.mean())
    assert cur.stats()["std"] == pytest.approx(finite.std())
