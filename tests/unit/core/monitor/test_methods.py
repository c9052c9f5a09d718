"""The drift-method registry: its facts are Evidently's, and what it computes over every row is
what Evidently computes on the same rows (real flights: two weeks of January as the reference, a
January day like it and a July day not like it)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from airflow_mlops.core.foundation.config import ColumnDriftConfig, PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.model.modeling import PREDICTION
from airflow_mlops.core.model.reference import sample_reference
from airflow_mlops.core.monitor import drift, methods, signals, sketch
from airflow_mlops.core.monitor.evidently_report import build_report
from airflow_mlops.core.monitor.report_json import column_drift

pytestmark = pytest.mark.unit


def _evidently(name: str, kind: str):  # type: ignore[no-untyped-def]
    from evidently.legacy.calculations.stattests.registry import get_registered_stattest
    from evidently.legacy.core import ColumnType

    column_type = ColumnType.Numerical if kind == "num" else ColumnType.Categorical
    return get_registered_stattest(name, column_type), column_type


def test_every_evidently_method_is_declared_with_evidentlys_facts() -> None:
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
    from evidently.legacy.core import ColumnType

    kinds = {ColumnType.Numerical: "num", ColumnType.Categorical: "cat"}
    theirs = {n: ts for n, ts in _registered_stat_tests.items() if ColumnType.Text not in ts}
    assert set(methods.METHODS) == set(theirs)
    for name, by_type in theirs.items():
        ours = methods.METHODS[name]
        test = next(iter(by_type.values()))
        assert ours.kinds == {kinds[t] for t in by_type}, name
        assert (ours.display_name, ours.default_threshold) == (test.display_name, test.default_threshold)
        assert methods.find(test.display_name) is ours


def _samples(kind: str) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(3)
    if kind == "num":
        return pd.Series(rng.normal(0, 1, 300)), pd.Series(rng.normal(0.15, 1.1, 300))
    return pd.Series(rng.choice(["a", "b"], 300, p=[0.5, 0.5])), pd.Series(
        rng.choice(["a", "b"], 300, p=[0.4, 0.6])
    )


@pytest.mark.parametrize("name", sorted(methods.METHODS))
def test_the_threshold_points_the_way_evidently_decides(name: str) -> None:
    """Score and p-value alike: our ``drifted`` says what Evidently's own test says, below, above
    and at the threshold."""
    ours = methods.METHODS[name]
    kind = sorted(ours.kinds)[0]
    test, column_type = _evidently(name, kind)
    ref, cur = _samples(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = float(test(ref, cur, column_type, 0.5).drift_score)
        assert score > 0, "pick samples with a score away from zero"
        thresholds = [score / 2, score * 2]
        if name != "empirical_mmd":  # a permutation test: its p-value moves run to run
            thresholds.append(score)
        for t in thresholds:
            result = test(ref, cur, column_type, t)
            if name != "empirical_mmd":
                assert float(result.drift_score) == score
            assert ours.drifted(float(result.drift_score), t) == bool(result.drifted), (name, t)


@pytest.mark.parametrize("kind", ["num", "few", "cat"])
def test_the_one_psi_is_evidentlys(kind: str) -> None:
    """The signals' PSI and the sketches' are one function, equal to Evidently's ``psi`` test."""
    rng = np.random.default_rng(5)
    if kind == "num":
        ref, cur = rng.normal(0, 1, 5000), rng.normal(0.3, 1.2, 800)
    elif kind == "few":  # 20 values or fewer: a bin per value, as Evidently bins them
        ref, cur = rng.integers(0, 8, 5000).astype(float), rng.integers(2, 12, 800).astype(float)
    else:
        ref, cur = rng.choice(list("abcd"), 5000), rng.choice(list("abcde"), 800)
    test, column_type = _evidently("psi", "cat" if kind == "cat" else "num")
    theirs = float(test(pd.Series(ref), pd.Series(cur), column_type, 0.1).drift_score)
    ours = signals.sample_psi("cat" if kind == "cat" else "num", ref, cur)
    assert ours == pytest.approx(theirs, rel=1e-9)


def test_psi_needs_values_on_both_sides() -> None:
    with pytest.raises(ValueError, match=r"PSI needs values on both sides \(reference 2, current 0\)"):
        signals.sample_psi("num", [1.0, 2.0], [np.nan])


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
    ours = drift.decide(cfg, reference, drift.summarize_frame(cfg, current))
    _, report = build_report(cfg, current, reference)
    theirs = column_drift(report)

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
    assert drift.decide(default, reference, drift.summarize_frame(default, scored["july"])) == {}
    chosen = drift.decide(cfg, reference, drift.summarize_frame(cfg, scored["july"]))  # per-column tests
    assert set(chosen) == set(cfg.drift.per_column)


def test_a_method_without_a_summary_is_left_to_the_report(
    cfg: PipelineConfig, scored: dict[str, pd.DataFrame]
) -> None:
    hellinger = _with_method(cfg, "hellinger")
    assert methods.METHODS["hellinger"].summary is None
    assert (
        drift.decide(hellinger, scored["reference"], drift.summarize_frame(hellinger, scored["july"])) == {}
    )


def test_many_categories_stop_counting_and_go_to_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sketch, "MAX_DISTINCT", 10)
    ref, cur = sketch.Sketch("cat"), sketch.Sketch("cat")
    ref.add(pa.array([str(i % 5) for i in range(2000)]))
    cur.add(pa.array([str(i) for i in range(2000)] + [None]))
    assert cur.capped and cur.stats()["distinct_at_least"] is True
    assert (cur.rows, cur.missing) == (2001, 1)
    assert methods.verdict(ref, cur, None, None) is None


def test_a_configured_method_must_exist_and_fit_each_column_kind(cfg: PipelineConfig) -> None:
    per_column = {
        "dep_delay": ColumnDriftConfig(method="no_such_test"),
        "carrier": ColumnDriftConfig(method="wasserstein"),
        "origin": ColumnDriftConfig(method="psi"),
    }
    bad = cfg.model_copy(update={"drift": cfg.drift.model_copy(update={"per_column": per_column})})
    with pytest.raises(ConfigError) as e:
        methods.check_methods(bad)
    lines = str(e.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        f"{cfg.name}: drift.per_column.dep_delay.method 'no_such_test' cannot test the numerical column(s) "
        "['dep_delay'] (no drift method of that name; known: TVD, anderson,"
    )
    assert lines[1] == (
        f"{cfg.name}: drift.per_column.carrier.method 'wasserstein' cannot test the categorical column(s) "
        "['carrier'] (it tests numerical columns only); jensenshannon, psi, kl_div, hellinger work for both kinds"
    )
    methods.check_methods(cfg)  # the shipped flights config is fine


def test_a_method_is_declared_once() -> None:
    with pytest.raises(ValueError, match="drift method 'psi' is declared twice"):
        methods.register("psi", "PSI", methods.BOTH, "distance", 0.1)
