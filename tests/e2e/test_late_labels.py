"""A pipeline whose labels arrive a batch late, through the whole loop with Airflow's dag.test().

Real credit card customers (ISLR's Default): each day's export brings 300 new customers without
their outcome, and yesterday's customers again with it, matched on ``customer_id``. The monitor
judges the champion on the labels as they arrive (realized performance, prior shift) and watches
its predictions meanwhile; covariate drift is switched off as a trigger here, so any retrain is
asked for by those signals alone. The last two days bring customers the model finds hard.

Each day is a module-scoped fixture that needs the day before it (a day's monitor judges the
predictions stored the day before), made once by whichever test asks first: each test also runs
alone and in any order, and asserts on what its day left, captured when the day ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from dev.datasets import daterange, write_credit_late_labels
from tests.conftest import PIPELINES
from tests.e2e.test_loop import asset_events, set_paused, succeeded_first_time

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NAME = "credit_late"
DAYS = daterange("2024-03-01", 14)  # 12 ordinary days, then 2 of hard customers
MONITOR = {
    "labels": {"arrive": "later", "key": ["customer_id"], "max_delay_batches": 1, "min_rows": 100},
    "triggers": {
        "covariate_drift": {"enabled": False},
        "prediction_drift": {"enabled": True, "threshold": 0.1},
        "prior_shift": {"enabled": True, "threshold": 0.2},
        "performance": {"enabled": True, "max_drop": 0.1},
    },
}


def write_pipeline(pipelines: Path, expectations: Path) -> None:
    """The shipped credit pipeline, renamed, reading the late-labelled exports, with a monitor
    section; its suite without the not-null expectation on the label (new customers have none)."""
    d = yaml.safe_load((PIPELINES / "credit_default.yaml").read_text())
    d.update(name=NAME, monitor=MONITOR)
    d["source"].update(uri="${AIRFLOW_MLOPS_RAW_ROOT}/credit_late/{ds}.csv", timeout_minutes=0.1)
    d["source"]["poke_interval_seconds"] = 1
    d["validation"].update(suite=f"{NAME}.json", on_failure="fail")
    d["split"]["min_training_rows"] = 200
    d["tasks"] = {"retries": 1, "retry_delay_seconds": 0, "timeout_minutes": 10}
    pipelines.mkdir()
    (pipelines / f"{NAME}.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    suite = json.loads((ROOT / "include" / "expectations" / "credit_default.json").read_text())
    suite["name"] = NAME
    suite["meta"] = {"pipeline": NAME}
    suite["expectations"] = [
        x
        for x in suite["expectations"]
        if not (x["type"] == "expect_column_values_to_not_be_null" and x["kwargs"]["column"] == "default")
    ]
    expectations.mkdir()
    (expectations / f"{NAME}.json").write_text(json.dumps(suite))


@pytest.fixture(scope="module")
def world(airflow_db, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("late")
    write_pipeline(home / "pipelines", home / "expectations")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "MLFLOW_TRACKING_URI"):
            mp.delenv(var, raising=False)
        mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
        mp.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(home / "pipelines"))
        mp.setenv("AIRFLOW_MLOPS_EXPECTATIONS_DIR", str(home / "expectations"))
        write_credit_late_labels((home / "raw").as_uri(), DAYS[0], len(DAYS), per_day=300, shifted_days=2)
        from airflow_mlops.dag_factory import build_dags

        yield {"home": home, "dags": build_dags(home / "pipelines")}


def ingest(world, ds: str) -> None:
    logical = datetime.fromisoformat(ds).replace(tzinfo=UTC) + timedelta(days=1)
    succeeded_first_time(world["dags"][f"{NAME}__ingest"].test(logical_date=logical))


def monitor(world, ds: str) -> dict:
    ingest(world, ds)
    succeeded_first_time(world["dags"][f"{NAME}__monitor"].test(run_conf={"ds": [ds]}))
    path = world["home"] / "lake" / NAME / "batches" / f"ds={ds}" / "drift" / "summary.json"
    return json.loads(path.read_text())


def _day(world, ds: str) -> dict:
    """The monitor of ``ds`` and the drift events as they stood right after it."""
    summary = monitor(world, ds)
    return {"summary": summary, "events": asset_events(f"{NAME}.drift")}


@pytest.fixture(scope="module")
def first_model(world) -> tuple[str, dict[str, str]]:
    """Ten days ingested and the first model trained on the labels that arrived: the champion's
    version and tags right after."""
    from airflow_mlops.core.foundation import registry, tracking

    for ds in DAYS[:10]:
        ingest(world, ds)
    succeeded_first_time(world["dags"][f"{NAME}__train"].test(run_conf={"reason": "e2e: late labels"}))
    champ = registry.ModelRegistry(tracking.configure(), NAME).champion()
    assert champ is not None
    return str(champ.version), registry.tags_of(champ)


@pytest.fixture(scope="module")
def day11(world, first_model) -> dict:
    return _day(world, DAYS[10])


@pytest.fixture(scope="module")
def day12(world, day11) -> dict:
    return _day(world, DAYS[11])


@pytest.fixture(scope="module")
def day13(world, day12) -> dict:
    set_paused([f"{NAME}__train"], False)  # the scheduler queues asset-triggered runs only for active DAGs
    return _day(world, DAYS[12])


@pytest.fixture(scope="module")
def day14(world, day13) -> dict:
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import select

    out = _day(world, DAYS[13])
    with create_session() as session:
        out["queued"] = list(session.scalars(select(AssetDagRunQueue.target_dag_id)).all())
    return out


def test_the_first_model_learns_from_the_labels_that_arrived(first_model) -> None:
    from airflow_mlops.core.foundation.registry import Tag

    version, tags = first_model
    assert version == "1"
    # Day 1 carries no label yet; days 2-10 carry the labels of days 1-9: 2,700 labelled rows.
    assert int(tags[Tag.TRAIN_ROWS]) + int(tags[Tag.TEST_ROWS]) == 2700
    assert float(tags["metric.roc_auc"]) >= 0.85


def test_labels_of_rows_never_scored_are_counted_not_judged(day11) -> None:
    s = day11["summary"]
    assert s["labels"] == {
        "arrive": "later",
        "rows": 300,
        "matched": 0,
        "unmatched": 300,
        "batches": [],
    }, "day 11 brings the labels of day 10, scored by no model"
    perf = s["signals"]["performance"]
    assert perf["value"] is None and not perf["fired"] and "min_rows (100)" in perf["note"]
    assert s["signals"]["prior_shift"]["rows"] == 300 and not s["signals"]["prior_shift"]["fired"]
    assert s["retrain"] is False and s["fired"] == []
    assert day11["events"] == []


def test_a_day_late_labels_judge_yesterdays_predictions(world, day12) -> None:
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    s = day12["summary"]
    assert s["labels"]["matched"] == 300 and s["labels"]["batches"] == [DAYS[10]]
    perf = s["signals"]["performance"]
    # By hand: day 12's labels joined to day 11's stored predictions on customer_id.
    batches = world["home"] / "lake" / NAME / "batches"
    preds = pd.read_parquet(batches / f"ds={DAYS[10]}" / "predictions" / "predictions.parquet")
    today = pd.read_parquet(batches / f"ds={DAYS[11]}" / "predictions" / "predictions.parquet")
    labels = today[today["default"].notna()][["customer_id", "default"]]
    joined = labels.merge(preds[preds["default"].isna()].drop(columns="default"), on="customer_id")
    assert len(joined) == 300
    assert perf["value"] == pytest.approx(roc_auc_score(joined["default"].astype(int), joined["probability"]))
    assert not perf["fired"] and perf["threshold"] == pytest.approx(perf["reference"] - 0.1)
    assert s["fired"] == [] and s["retrain"] is False
    assert day12["events"] == []


def test_hard_customers_shift_the_predictions_before_their_labels_arrive(day13) -> None:
    s = day13["summary"]
    # Their labels are not here yet (today's labels are yesterday's ordinary customers) ...
    assert not s["signals"]["performance"]["fired"] and not s["signals"]["prior_shift"]["fired"]
    # ... but the champion's predictions on them already moved.
    assert s["signals"]["prediction_drift"]["fired"], s["signals"]
    assert s["fired"] == ["prediction_drift"]
    events = day13["events"]
    assert [e["ds"] for e in events] == [DAYS[12]]
    assert events[0]["retrain_reason"].startswith(f"prediction_drift on {DAYS[12]}: PSI")


def test_their_labels_fire_prior_shift_and_performance_and_queue_a_retrain(day14) -> None:
    s = day14["summary"]
    assert s["labels"]["matched"] == 300 and s["labels"]["batches"] == [DAYS[12]]
    sig = s["signals"]
    assert sig["prior_shift"]["fired"] and sig["prior_shift"]["value"] >= 0.2
    assert sig["performance"]["fired"]
    assert sig["performance"]["value"] < sig["performance"]["reference"] - 0.1
    assert {"prior_shift", "performance"} <= set(s["fired"]) and s["retrain"] is True
    assert not sig["covariate_drift"]["fired"], "switched off as a trigger in this pipeline"
    event = day14["events"][-1]
    assert event["ds"] == DAYS[13] and {"prior_shift", "performance"} <= set(event["fired"])
    assert f"prior_shift on {DAYS[13]}: PSI" in event["retrain_reason"]
    assert f"performance on {DAYS[13]}: roc_auc" in event["retrain_reason"]
    assert f"{NAME}__train" in day14["queued"], "the drift event queued a run of the train DAG"

    from airflow_mlops.core.foundation import tracking
    from airflow_mlops.core.foundation.registry import Tag

    client = tracking.configure()
    exp = client.get_experiment_by_name(f"airflow-mlops/{NAME}")
    runs = client.search_runs([exp.experiment_id], filter_string=f"tags.`{Tag.MONITOR_DS}` = '{DAYS[13]}'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.tags[Tag.RETRAIN] == "true" and "performance" in run.data.tags[Tag.FIRED].split(",")
    assert run.data.metrics["signal_performance_fired"] == 1.0
    assert run.data.metrics["signal_prior_shift"] == pytest.approx(sig["prior_shift"]["value"])


def test_the_retrain_learns_the_shifted_labels_and_says_why(world, day14) -> None:
    """The queued run, as the scheduler would start it, with the event's reason as its reason."""
    reason = day14["events"][-1]["retrain_reason"]
    succeeded_first_time(world["dags"][f"{NAME}__train"].test(run_conf={"reason": reason}))
    from airflow_mlops.core.foundation import registry, tracking
    from airflow_mlops.core.foundation.registry import Tag

    v2 = tracking.configure().get_model_version(NAME, "2")
    tags = registry.tags_of(v2)
    assert tags[Tag.REASON] == reason
    assert DAYS[13] in json.loads(tags[Tag.WINDOW]), "trained on the window holding the shifted labels"
    assert tags["promotion.champion_version"] == "1", "the gate judged it against v1"


def test_status_and_the_ui_json_show_the_signals(world, day14) -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "airflow-mlops"), "status", NAME, "--json"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    st = json.loads(out.stdout)[0]
    d = st["drift"]
    assert d["ds"] == DAYS[13] and d["retrain"] and "performance" in d["fired"]
    assert d["signals"]["performance"]["rows"] == 300 and d["labels"]["matched"] == 300
    text = subprocess.run(
        [str(Path(sys.executable).parent / "airflow-mlops"), "status", NAME],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    ).stdout
    assert "performance:" in text and "FIRED" in text and "retrain asked for: " in text
    assert "labels:            300 arrived (later), 300 joined" in text

    from airflow_mlops.core.foundation import tracking
    from airflow_mlops.core.foundation.config import load_pipeline
    from airflow_mlops.core.foundation.lake import Lake
    from airflow_mlops.core.foundation.settings import get_settings
    from airflow_mlops.core.presentation.status import pipeline_detail
    from airflow_mlops.plugin import pages

    cfg = load_pipeline(world["home"] / "pipelines" / f"{NAME}.yaml")
    detail = pipeline_detail(cfg, Lake(get_settings().lake_root), tracking.configure())
    history = {b["ds"]: b["drift"]["fired"] for b in detail["batches"] if b["drift"]}
    assert history == {
        DAYS[10]: [],
        DAYS[11]: [],
        DAYS[12]: ["prediction_drift"],
        DAYS[13]: sorted(history[DAYS[13]], key=["prediction_drift", "prior_shift", "performance"].index),
    }
    page = pages.drift_page(NAME, DAYS[13], detail["batches"][0]["drift"], "/mlops/pipelines/credit_late")
    assert "retrain asked for" in page and "prior_shift" in page
