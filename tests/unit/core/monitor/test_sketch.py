"""Drift tests from one-pass summaries against Evidently's own numbers, on real flights.

The reference is two weeks of January; the current days are a January day (like it) and a July
day (not like it). Evidently runs on the same rows; our distances must be its distances.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.model.modeling import PREDICTION
from airflow_mlops.core.model.reference import sample_reference
from airflow_mlops.core.monitor import drift, sketch
from airflow_mlops.core.monitor.evidently_report import _column_drift, build_report

pytestmark = pytest.mark.unit


def _with_method(cfg: PipelineConfig, method: str | None) -> PipelineConfig:
    """Every column tested by ``method`` (None: Evidently's own choice), no per-column tests."""
    update = {"method": method, "per_column": {}}
    return cfg.model_copy(update={"drift": cfg.drift.model_copy(update=update)})


@pytest.mark.parametrize("method", ["as shipped", None, "psi", "jensenshannon"])
@pytest.mark.parametrize("day", ["january", "july"])
def test_distances_equal_evidentlys_on_the_same_rows(
    cfg: PipelineConfig, scored: dict[str, pd.DataFrame], day: str, method: str | None
) -> None:
    shipped = {c: p.method for c, p in cfg.drift.per_column.items()}
    if method != "as shipped":
        cfg = _with_method(cfg, method)
    reference = sample_reference(cfg, scored["reference"])
    current = scored[day]
    ours = drift.decide(cfg, reference, drift._whole(cfg, current))
    _, report = build_report(cfg, current, reference)
    theirs = _column_drift(report)

    assert set(ours) == {*cfg.drift_columns, PREDICTION}
    for col, v in ours.items():
        score, drifted = theirs[col]
        assert v.score == pytest.approx(score, rel=1e-6, abs=1e-9), col
        assert v.drifted == drifted, col
    if method == "as shipped":  # each column's test from the flights YAML
        assert {c: v.method for c, v in ours.items() if c in shipped} == shipped
        assert any(v.drifted for v in ours.values()) == (day == "july")
    elif method is None:  # Evidently's own choice for a reference of more than 1,000 rows
        assert ours["dep_delay"].method == "wasserstein"
        assert ours["carrier"].method == ours[PREDICTION].method == "jensenshannon"
    else:
        assert {v.method for v in ours.values()} == {method}


def test_a_small_reference_is_left_to_the_report(
    cfg: PipelineConfig, scored: dict[str, pd.DataFrame]
) -> None:
    """Evidently uses p-value tests (KS, chi-square) for 1,000 reference rows or fewer."""
    reference = scored["reference"].head(900)
    default = _with_method(cfg, None)
    assert drift.decide(default, reference, drift._whole(default, scored["july"])) == {}
    chosen = drift.decide(cfg, reference, drift._whole(cfg, scored["july"]))  # per-column tests
    assert set(chosen) == set(cfg.drift.per_column)


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
    assert sketch.distance("wasserstein", ref, cur) == pytest.approx(exact, abs=1e-3)
    assert cur.stats()["mean"] == pytest.approx(finite.mean())
    assert cur.stats()["std"] == pytest.approx(finite.std())


def test_many_categories_stop_counting_and_go_to_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sketch, "MAX_DISTINCT", 10)
    ref, cur = sketch.Sketch("cat"), sketch.Sketch("cat")
    ref.add(pa.array([str(i % 5) for i in range(2000)]))
    cur.add(pa.array([str(i) for i in range(2000)] + [None]))
    assert cur.capped and cur.stats()["distinct_at_least"] is True
    assert (cur.rows, cur.missing) == (2001, 1)
    assert sketch.verdict(ref, cur, None, None) is None
