"""Train -> register -> gate -> score -> monitor, on real flights, with a real MLflow store.

No Airflow here: these are the core functions the operators call.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_mlops.core import tracking
from airflow_mlops.core.config import load_pipeline
from airflow_mlops.core.lake import Lake
from airflow_mlops.core.monitoring import monitor_batch
from airflow_mlops.core.promotion import history, promote
from airflow_mlops.core.scoring import NoChampionError, score_batch
from airflow_mlops.core.settings import get_settings
from airflow_mlops.core.snapshot import ingest, read_snapshot
from airflow_mlops.core.training import train
from airflow_mlops.core.validation import validate_snapshot
from airflow_mlops.datasets import daterange, write_flights

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
JAN = daterange("2013-01-02", 8)
JUL = ["2013-07-08"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("lifecycle")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "MLFLOW_TRACKING_URI"):
            mp.delenv(var, raising=False)
        mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
        cfg = load_pipeline(ROOT / "include" / "pipelines" / "flights_delay.yaml")
        s = get_settings()
        lake = Lake(s.lake_root)
        write_flights(s.raw_root, JAN + JUL)
        for ds in JAN + JUL:
            ingest(cfg, lake, ds)
            assert validate_snapshot(cfg, lake, ds, s.expectations_dir / cfg.validation.suite).success
        client = tracking.configure(s)
        yield cfg, lake, client


def test_no_champion_means_nothing_to_score(world) -> None:
    cfg, lake, client = world
    with pytest.raises(NoChampionError, match="no version has the 'champion' alias"):
        score_batch(cfg, lake, client, JAN[0])


def test_lifecycle(world) -> None:
    cfg, lake, client = world
    name = cfg.registered_model_name
    ctx = {"dag_id": "flights_delay__train", "run_id": "manual__1"}
    first = train(
        cfg,
        lake,
        client,
        run_key="flights_delay__train/manual__1",
        reason="first",
        end_ds=JAN[-1],
        airflow_context=ctx,
    )
    assert first.version and not first.reused and first.window == JAN
    assert first.metrics["roc_auc"] > 0.75 and first.train_rows + first.test_rows > 4000

    # Lineage on the registered version.
    tags = tracking.tags_of(client.get_model_version(name, first.version))
    snaps = json.loads(tags["data.snapshots"])
    assert [s.split(":")[0] for s in snaps] == JAN and all(len(s.split(":")[1]) == 16 for s in snaps)
    assert tags["config_hash"] == cfg.config_hash and tags["airflow.run_id"] == "manual__1"
    assert tags["lib.scikit-learn"].count(".") >= 1 and tags["code_version"].startswith("0.1.0")
    assert tags["data.holdout_uri"].startswith(lake.root) and lake.exists(tags["data.reference_uri"])

    # A retried Airflow run reuses its version instead of registering another.
    again = train(cfg, lake, client, run_key="flights_delay__train/manual__1", reason="first", end_ds=JAN[-1])
    assert again.reused and again.version == first.version
    assert len(tracking.versions(client, name)) == 1

    d1 = promote(cfg, lake, client, first.version)
    assert d1.promoted and d1.champion_version is None and "first model" in d1.reason
    assert str(tracking.champion(client, name).version) == first.version
    assert promote(cfg, lake, client, first.version) == d1, (
        "a retried promotion returns the recorded decision"
    )

    # Same snapshots and config as the champion: nothing to learn unless forced.
    same = train(cfg, lake, client, run_key="flights_delay__train/manual__2", end_ds=JAN[-1])
    assert same.skipped and same.version is None and "force=true" in same.reason

    # A candidate that misses the absolute minimum never becomes champion.
    strict = cfg.model_copy(update={"gate": cfg.gate.model_copy(update={"minimum": 0.999})})
    cand = train(
        strict,
        lake,
        client,
        run_key="flights_delay__train/manual__3",
        end_ds=JAN[-1],
        window_days=4,
        reason="smaller window",
    )
    d2 = promote(strict, lake, client, cand.version)
    assert not d2.promoted and "misses the absolute minimum 0.999" in d2.reason
    assert str(tracking.champion(client, name).version) == first.version

    # A fair contest on the same held-out data: promoted exactly when not worse.
    forced = train(
        cfg, lake, client, run_key="flights_delay__train/manual__4", end_ds=JAN[-1], force=True, window_days=6
    )
    d3 = promote(cfg, lake, client, forced.version)
    assert d3.champion_version == first.version and d3.champion_score is not None
    assert d3.promoted == (d3.candidate_score >= d3.champion_score)
    champ = tracking.champion(client, name)
    assert str(champ.version) == (forced.version if d3.promoted else first.version)
    if d3.promoted:
        assert tracking.tags_of(champ)["previous_champion"] == first.version
    assert [d.candidate_version for d in history(cfg, client)][:3] == [
        forced.version,
        cand.version,
        first.version,
    ]


def test_score_and_monitor(world) -> None:
    cfg, lake, client = world
    if tracking.champion(client, cfg.registered_model_name) is None:
        v = train(cfg, lake, client, run_key="score/1", end_ds=JAN[-1]).version
        promote(cfg, lake, client, v)
    champ = tracking.champion(client, cfg.registered_model_name)
    res = score_batch(cfg, lake, client, JUL[0])
    assert res.model_version == str(champ.version)
    assert res.rows == len(read_snapshot(lake, cfg.name, JUL[0]))
    assert 0 <= res.mean_probability <= 1

    summary = monitor_batch(cfg, lake, client, JUL[0], run_key="flights_delay__monitor/r1")
    assert summary["model_version"] == str(champ.version)
    assert 0 <= summary["drift_share"] <= 1 and lake.exists(summary["html_uri"])
    assert summary["quality"], "labels are present, so model quality is reported"
    runs = client.search_runs(
        [tracking.ensure_experiment(client, cfg.experiment_name)],
        filter_string="tags.`monitor.ds` = '2013-07-08'",
    )
    assert len(runs) == 1 and runs[0].data.metrics["drift_share"] == pytest.approx(summary["drift_share"])
    # A retry logs into the same monitoring run.
    monitor_batch(cfg, lake, client, JUL[0], run_key="flights_delay__monitor/r1")
    assert len(client.search_runs([runs[0].info.experiment_id], "tags.`monitor.ds` = '2013-07-08'")) == 1
