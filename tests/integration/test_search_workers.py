"""Two Celery workers share one model search: the mapped trials of one train run run on both.

The production topology of topology.py (PostgreSQL, Redis, S3 on loopback, an MLflow server, Airflow
with the CeleryExecutor and two workers), with one more pipeline file, ``flights_search``, written
while it runs: the DAG processor picks it up on its next parse, as it would a deployed file.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from tests.integration.topology import (
    DAYS,
    TRAIN_TIMEOUT,
    WORKERS,
    Topology,
    _interval,
    _value,
    topology,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration
__all__ = ["topology"]  # the module-scoped fixture the tests below share
NAME = "flights_search"
INGEST, TRAIN = f"{NAME}__ingest", f"{NAME}__train"
TRIALS = 6


def _search_pipeline(topology: Topology) -> None:
    """The topology's flights pipeline (its retries and timeouts) as a search of six trials."""
    d = yaml.safe_load((topology.pipelines / "flights_delay.yaml").read_text())
    d["name"] = NAME
    d["model"] = {
        "search": {
            "candidates": [
                {
                    "estimator": "sklearn.linear_model.LogisticRegression",
                    "params": {"C": {"low": 0.01, "high": 10.0, "log": True}, "max_iter": [500]},
                },
                {
                    "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                    "params": {"max_iter": [20, 40], "learning_rate": [0.1, 0.2]},
                },
            ],
            "trials": TRIALS,
            "minutes": 30,
            "folds": 3,
        },
        "max_categories": 40,
    }
    d["gate"] |= {"slices": ["origin"], "min_slice_rows": 30}
    (topology.pipelines / f"{NAME}.yaml").write_text(yaml.safe_dump(d, sort_keys=False))


@pytest.fixture(scope="module")
def search_ingested(topology: Topology) -> dict[str, str]:
    """The search pipeline written into the running stack, parsed, and three days ingested: the
    state of each ingest run. Once per module, for whichever test needs it first."""
    from airflow_client.client import DAGPatchBody, TriggerDAGRunPostBody

    _search_pipeline(topology)

    def parsed() -> bool:
        topology.check_processes()
        have = {d.dag_id for d in topology.dags.get_dags(dag_id_pattern=NAME, limit=100).dags}
        return {INGEST, TRAIN} <= have

    wait_for(parsed, 240, f"the DAG processor to pick up {NAME}.yaml", interval=2)
    for dag_id in (INGEST, TRAIN):
        assert topology.dags.patch_dag(dag_id, DAGPatchBody(is_paused=False)).is_paused is False
    runs = []
    for ds in DAYS[:3]:  # raw files the topology wrote for flights_delay: the same source
        start, end = _interval(ds)
        body = TriggerDAGRunPostBody(
            dag_run_id=f"it_search_ingest__{ds}",
            logical_date=end,
            data_interval_start=start,
            data_interval_end=end,
            conf={},
        )
        runs.append(topology.runs.trigger_dag_run(INGEST, body).dag_run_id)
    states = {}
    for run_id in runs:
        dr = topology.wait_run(INGEST, run_id, 420)
        topology.assert_success(dr)
        states[run_id] = _value(dr.state)
    return states


def test_a_new_search_pipeline_is_parsed_and_ingests(
    topology: Topology, search_ingested: dict[str, str]
) -> None:
    have = {d.dag_id for d in topology.dags.get_dags(dag_id_pattern=NAME, limit=100).dags}
    assert {INGEST, TRAIN} <= have, have
    assert search_ingested == {f"it_search_ingest__{ds}": "success" for ds in DAYS[:3]}, search_ingested


def test_two_workers_share_the_trials_of_one_search(
    topology: Topology, search_ingested: dict[str, str]
) -> None:
    from airflow_client.client import TriggerDAGRunPostBody
    from mlflow import MlflowClient

    conf = {"reason": "integration: search on two workers", "training_window_days": 10}
    posted = datetime.now(UTC)
    dr = topology.runs.trigger_dag_run(TRAIN, TriggerDAGRunPostBody(logical_date=None, conf=conf))
    dr = topology.wait_run(TRAIN, dr.dag_run_id, TRAIN_TIMEOUT + 240)
    topology.assert_success(dr)
    tis = topology.tis.get_task_instances(TRAIN, dr.dag_run_id, limit=100).task_instances
    trials = [t for t in tis if t.task_id == "trial"]
    assert sorted(t.map_index for t in trials) == list(range(TRIALS))
    assert all(_value(t.state) == "success" for t in trials), topology.ti_states(TRAIN, dr.dag_run_id)
    by_worker: dict[str, list[int]] = {}
    for t in trials:
        by_worker.setdefault(str(t.hostname).split("@")[0], []).append(t.map_index)
    print(f"trials by worker: {by_worker}")
    assert set(by_worker) == set(WORKERS), f"the trials did not spread over both workers: {by_worker}"
    # Trials of the two workers ran at the same time, not one after the other.
    spans = sorted((t.start_date, t.end_date, str(t.hostname)) for t in trials)
    assert any(a[2] != b[2] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1 :]), (
        f"no two trials on different workers overlapped: {spans}"
    )

    client = MlflowClient(tracking_uri=topology.mlflow_uri, registry_uri=topology.mlflow_uri)
    versions = client.search_model_versions(f"name = '{NAME}'")
    assert len(versions) == 1, [v.version for v in versions]
    parent = client.get_run(str(versions[0].run_id))
    assert parent.info.start_time >= int(posted.timestamp() * 1000) - 60_000
    nested = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    assert len(nested) == TRIALS and all(r.info.status == "FINISHED" for r in nested)
    assert "model.search" in versions[0].tags and "model.estimator" in versions[0].tags
