"""The loop on the production topology, driven from outside as a user would (see topology.py)."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.topology import (
    DAYS,
    INGEST,
    MONITOR,
    MONITOR_TIMEOUT,
    PIPELINE,
    REASON,
    STATE,
    TRAIN,
    TRAIN_TIMEOUT,
    WORKERS,
    Topology,
    _http_ok,
    _tail,
    _value,
    ingest_days,
    topology,
)

pytestmark = pytest.mark.integration
__all__ = ["topology"]  # the module-scoped fixture the tests below share


# --- the loop ------------------------------------------------------------------------------------


def test_ingest_runs_through_the_rest_api(topology: Topology) -> None:
    ingest_days(topology)
    print(f"POST /auth/token answered {STATE.get('token_response')}")
    STATE["ingested"] = True


def test_retraining_through_the_rest_api_registers_a_model_with_lineage(topology: Topology) -> None:
    assert STATE.get("ingested"), "needs the ingest runs of the previous test"
    from airflow_client.client import TriggerDAGRunPostBody
    from mlflow import MlflowClient

    from airflow_mlops.core.config import load_pipeline

    conf = {"reason": REASON, "training_window_days": 10, "force": False}
    posted = datetime.now(UTC)
    dr = topology.runs.trigger_dag_run(TRAIN, TriggerDAGRunPostBody(logical_date=None, conf=conf))
    assert dr.conf == conf
    dr = topology.wait_run(TRAIN, dr.dag_run_id, TRAIN_TIMEOUT)
    topology.assert_success(dr)
    _record_latency(topology, dr, posted)

    client = MlflowClient(tracking_uri=topology.mlflow_uri, registry_uri=topology.mlflow_uri)
    versions = client.search_model_versions(f"name = '{PIPELINE}'")
    mine = [v for v in versions if (v.tags or {}).get("airflow.run_id") == dr.dag_run_id]
    assert len(mine) == 1, (
        f"one version registered by run {dr.dag_run_id}: {[dict(v.tags) for v in versions]}"
    )
    mv = mine[0]
    tags = dict(mv.tags)
    assert tags["airflow.dag_id"] == TRAIN
    assert tags["train.reason"] == REASON
    with pytest.MonkeyPatch.context() as mp:  # the effective config, as the workers expand it
        for k in ("AIRFLOW_MLOPS_HOME", "AIRFLOW_MLOPS_RAW_ROOT", "AIRFLOW_MLOPS_LAKE_ROOT"):
            mp.setenv(k, topology.stack.env[k])
        expected_hash = load_pipeline(topology.pipelines / f"{PIPELINE}.yaml").config_hash
    assert tags["config_hash"] == expected_hash
    assert tags["code_version"]
    snapshots = json.loads(tags["data.snapshots"])
    assert sorted(s.split(":")[0] for s in snapshots) == DAYS, snapshots
    assert all(len(s.split(":")[1]) == 16 for s in snapshots), snapshots
    # The first model of a fresh registry is promoted when it meets the minimum, with that reason.
    assert tags["promotion.promoted"] == "True", tags
    assert tags["promotion.reason"].startswith("first model: roc_auc "), tags
    assert client.get_model_version_by_alias(PIPELINE, "champion").version == mv.version
    STATE.update(version=mv, promoted=True, train_run=dr.dag_run_id)


def _record_latency(topology: Topology, dr: Any, posted: datetime) -> None:
    """Seconds from the REST call to the run starting, its first task starting and the train task
    starting, written to .state/measurements/retrain_latency.json (a figure, not a pass mark)."""
    tis = topology.tis.get_task_instances(TRAIN, dr.dag_run_id, limit=100).task_instances
    by_id = {t.task_id: t for t in tis}
    first = min(t.start_date for t in tis if t.start_date)
    train = by_id["train"]
    assert posted < dr.start_date <= first <= train.start_date
    figures = {
        "measured_at": posted.isoformat(),
        "executor": "CeleryExecutor (Redis broker, 2 workers x concurrency 2), scheduler defaults",
        "to_run_start_s": (dr.start_date - posted).total_seconds(),
        "to_first_task_start_s": (first - posted).total_seconds(),
        "to_train_queued_s": (train.queued_when - posted).total_seconds() if train.queued_when else None,
        "to_train_start_s": (train.start_date - posted).total_seconds(),
        "tasks_before_train": sorted(t.task_id for t in tis if t.end_date and t.end_date <= train.start_date),
    }
    out = Path(__file__).resolve().parents[2] / ".state" / "measurements" / "retrain_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print("retraining latency:", figures)


def test_snapshots_validations_and_model_artifacts_are_in_s3(topology: Topology) -> None:
    mv = STATE.get("version")
    assert mv is not None, "needs the model version of the previous test"
    s3 = topology.s3
    raw = set(s3.keys("lake", "raw/flights/"))
    assert raw == {f"raw/flights/{ds}.csv" for ds in DAYS}
    for ds in DAYS:
        keys = s3.keys("lake", f"lake/{PIPELINE}/batches/ds={ds}/")
        part = f"lake/{PIPELINE}/batches/ds={ds}/"
        assert any(k.startswith(f"{part}data-") and k.endswith(".parquet") for k in keys), keys
        assert f"{part}validation/result.json" in keys, keys
        summary = json.loads(
            s3.client().get_object(Bucket="lake", Key=f"{part}validation/summary.json")["Body"].read()
        )
        assert summary["status"] == "validated", summary
    artifacts = s3.keys("mlflow")
    assert any(k.endswith("/MLmodel") for k in artifacts), artifacts[:50]
    # The version's source is the logged model (models:/m-...), whose files are on S3.
    model_id = mv.source.removeprefix("models:/")
    assert model_id.startswith("m-") and any(
        f"/models/{model_id}/artifacts/MLmodel" in k for k in artifacts
    ), (
        mv.source,
        artifacts[:50],
    )
    assert not [k for k in s3.keys("lake") if "/.tmp-" in k], "no temporary objects left in the lake"


def test_monitor_writes_predictions_and_drift_reports_to_s3(topology: Topology) -> None:
    assert STATE.get("promoted"), "the first model must have become the champion for the monitor to score"
    from airflow_client.client import TriggerDAGRunPostBody

    ds = DAYS[-1]
    dr = topology.runs.trigger_dag_run(MONITOR, TriggerDAGRunPostBody(logical_date=None, conf={"ds": [ds]}))
    dr = topology.wait_run(MONITOR, dr.dag_run_id, MONITOR_TIMEOUT)
    topology.assert_success(dr)
    states = topology.ti_states(MONITOR, dr.dag_run_id)
    assert states == {"batches": "success", "predict[0]": "success", "drift_report[0]": "success"}, states
    part = f"lake/{PIPELINE}/batches/ds={ds}/"
    keys = topology.s3.keys("lake", part)
    assert f"{part}drift/report.html" in keys, keys
    assert f"{part}predictions/predictions.parquet" in keys, keys


def test_tasks_ran_on_both_celery_workers(topology: Topology) -> None:
    assert STATE.get("ingested"), "needs the runs of the previous tests"
    hostnames: dict[str, int] = {}
    offset = 0
    while True:
        page = topology.tis.get_task_instances(
            "~", "~", dag_id_prefix_pattern=PIPELINE, limit=100, offset=offset
        )
        for t in page.task_instances:
            if t.hostname:
                hostnames[t.hostname] = hostnames.get(t.hostname, 0) + 1
        offset += len(page.task_instances)
        if not page.task_instances or offset >= page.total_entries:
            break
    print(f"task instances by hostname: {hostnames}")
    for w in WORKERS:
        assert any(h.startswith(f"{w}@") for h in hostnames), f"no task instance ran on {w}: {hostnames}"
        log = _tail(topology.home / "logs" / f"worker-{w}.log", 2_000_000)
        assert "execute_workload" in log and "succeeded" in log, (
            f"worker {w}'s log shows no task:\n{log[-3000:]}"
        )


# --- Params through the REST API ---------------------------------------------------------------


def _refused(topology: Topology, conf: dict[str, Any]) -> tuple[int, str, str | None]:
    """POST a run of the train DAG; returns (HTTP status, body, run id if a run was created)."""
    from airflow_client.client import ApiException, TriggerDAGRunPostBody

    try:
        dr = topology.runs.trigger_dag_run(TRAIN, TriggerDAGRunPostBody(logical_date=None, conf=conf))
    except ApiException as e:
        return int(e.status), str(e.body), None
    return 200, "", dr.dag_run_id


def _cancel(topology: Topology, run_id: str) -> None:
    from airflow_client.client import DagRunMutableStates, DAGRunPatchBody

    topology.runs.patch_dag_run(TRAIN, run_id, DAGRunPatchBody(state=DagRunMutableStates.FAILED))


@pytest.mark.parametrize(
    ("conf", "param"),
    [
        ({"training_window_days": "ten"}, "training_window_days"),
        ({"training_window_days": 0}, "training_window_days"),
        ({"training_window_days": 1000}, "training_window_days"),
    ],
    ids=["wrong-type", "below-minimum", "above-maximum"],
)
def test_invalid_params_are_refused(topology: Topology, conf: dict[str, Any], param: str) -> None:
    before = topology.run_count(TRAIN)
    status, body, run_id = _refused(topology, conf)
    print(f"conf {conf}: HTTP {status}: {body}")
    try:
        assert status == 400, f"conf {conf}: HTTP {status}, a run was created: {run_id}"
        assert param in body, body
        assert topology.run_count(TRAIN) == before
    finally:
        if run_id:
            _cancel(topology, run_id)


def test_unknown_param_is_refused(topology: Topology) -> None:
    before = topology.run_count(TRAIN)
    status, body, run_id = _refused(topology, {"bogus": 1})
    print(f"conf {{'bogus': 1}}: HTTP {status}: {body}")
    try:
        assert status == 400, f"conf {{'bogus': 1}}: HTTP {status}, a run was created: {run_id}"
        assert "bogus" in body, body
        assert topology.run_count(TRAIN) == before
    finally:
        if run_id:
            _cancel(topology, run_id)


def test_an_anonymous_caller_learns_nothing_about_the_params(topology: Topology) -> None:
    """The guard answers only callers Airflow lets trigger the DAG; others get Airflow's own 401."""
    before = topology.run_count(TRAIN)
    req = urllib.request.Request(
        f"{topology.api_base}/api/v2/dags/{TRAIN}/dagRuns",
        data=json.dumps({"logical_date": None, "conf": {"bogus": 1}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    body = e.value.read().decode()
    assert e.value.code == 401, body
    assert "training_window_days" not in body and "bogus" not in body
    assert topology.run_count(TRAIN) == before


# --- faults in real processes --------------------------------------------------------------------
LINEAGE = ("airflow.run_key", "data.snapshots", "config_hash", "model.skops_trusted_types", "metric.roc_auc")


def _mlflow(topology: Topology) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=topology.mlflow_uri, registry_uri=topology.mlflow_uri)


def _registry_invariants(topology: Topology) -> list[Any]:
    """Nothing half-registered: every version carries its lineage, one version per Airflow run,
    no training run left RUNNING, and the champion is a version that passed the gate, applied."""
    client = _mlflow(topology)
    versions = client.search_model_versions(f"name = '{PIPELINE}'")
    for v in versions:
        missing = [t for t in LINEAGE if t not in v.tags]
        assert not missing, f"version {v.version} lacks lineage tags {missing}: {dict(v.tags)}"
    keys = [v.tags["airflow.run_key"] for v in versions]
    assert len(keys) == len(set(keys)), f"a run registered twice: {sorted(keys)}"
    exp = client.get_experiment_by_name(f"airflow-mlops/{PIPELINE}")
    running = client.search_runs([exp.experiment_id], "attributes.status = 'RUNNING'")
    assert not running, f"training runs left RUNNING: {[dict(r.data.tags) for r in running]}"
    champ = client.get_model_version_by_alias(PIPELINE, "champion")
    assert champ.tags.get("promotion.promoted") == "True" and champ.tags.get("promotion.applied"), dict(
        champ.tags
    )
    return list(versions)


def _try_numbers(topology: Topology, dag_id: str, run_id: str) -> dict[str, int]:
    tis = topology.tis.get_task_instances(dag_id, run_id, limit=100).task_instances
    return {t.task_id: int(t.try_number) for t in tis}


def _versions_of(topology: Topology, run_id: str) -> list[Any]:
    key = f"{TRAIN}/{run_id}"
    return list(
        _mlflow(topology).search_model_versions(f"name = '{PIPELINE}' and tags.`airflow.run_key` = '{key}'")
    )


def _partition(topology: Topology, ds: str) -> tuple[str, list[str]]:
    """The manifest's content hash and the snapshot data files of one interval."""
    part = f"lake/{PIPELINE}/batches/ds={ds}/"
    body = topology.s3.client().get_object(Bucket="lake", Key=f"{part}manifest.json")["Body"].read()
    return json.loads(body)["content_hash"], sorted(
        k for k in topology.s3.keys("lake", part) if "/data-" in k
    )


def _wait_api(topology: Topology, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while not _http_ok(f"{topology.api_base}/api/v2/monitor/health"):
        assert time.time() < deadline, f"the api-server did not come back\n{topology.service_logs()}"
        time.sleep(2)
    topology._api = None  # log in again


def _wait_mlflow(topology: Topology, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while not _http_ok(f"{topology.mlflow_uri}/health"):
        assert time.time() < deadline, f"MLflow did not come back\n{topology.service_logs()}"
        time.sleep(1)


def test_clearing_and_rerunning_through_a_scheduler_and_api_server_crash_changes_nothing(
    topology: Topology,
) -> None:
    """Clear an ingest run and the first training run; SIGKILL the scheduler and the api-server
    while they run again and restart them: both runs complete, with the same snapshot, no new data
    file, the same single model version for the training run and the same champion."""
    assert STATE.get("train_run"), "needs the training run of the loop tests"
    from airflow_client.client import ClearTaskInstancesBody

    ds, train_run = DAYS[0], STATE["train_run"]
    ingest_run = f"it_ingest__{ds}"
    before = _partition(topology, ds)
    champion = _mlflow(topology).get_model_version_by_alias(PIPELINE, "champion").version
    for dag_id, run_id in ((INGEST, ingest_run), (TRAIN, train_run)):
        body = ClearTaskInstancesBody(
            dry_run=False, dag_run_id=run_id, only_failed=False, reset_dag_runs=True
        )
        topology.tis.post_clear_task_instances(dag_id, body)
    topology.wait_ti_state(INGEST, ingest_run, "ingest", {"running", "queued"}, 240)
    for name in ("scheduler", "api-server"):
        topology.stack.kill(name, signal.SIGKILL)
    time.sleep(5)
    for name in ("scheduler", "api-server"):
        topology.stack.restart(name)
    _wait_api(topology)

    for dag_id, run_id in ((INGEST, ingest_run), (TRAIN, train_run)):
        dr = topology.wait_run(dag_id, run_id, TRAIN_TIMEOUT)
        assert _value(dr.state) == "success", f"{dag_id} {run_id}: {topology.task_logs(dag_id, run_id)}"
    assert _partition(topology, ds) == before
    versions = _versions_of(topology, train_run)
    assert [v.version for v in versions] == [STATE["version"].version]
    assert _mlflow(topology).get_model_version_by_alias(PIPELINE, "champion").version == champion
    _registry_invariants(topology)


def test_a_celery_worker_killed_in_the_middle_of_training_is_retried_without_a_duplicate(
    topology: Topology,
) -> None:
    from airflow_client.client import TriggerDAGRunPostBody

    conf = {"reason": "fault: worker SIGKILLed while training", "force": True}
    run_id = topology.runs.trigger_dag_run(
        TRAIN, TriggerDAGRunPostBody(logical_date=None, conf=conf)
    ).dag_run_id
    assert topology.wait_ti_state(TRAIN, run_id, "train", {"running"}, TRAIN_TIMEOUT) == "running"
    time.sleep(4)  # into the task: data loaded, fitting or logging
    host = topology.tis.get_task_instance(TRAIN, run_id, "train").hostname
    worker = next(w for w in WORKERS if host.startswith(f"{w}@"))
    topology.stack.kill(f"worker-{worker}", signal.SIGKILL)
    time.sleep(2)
    topology.stack.restart(f"worker-{worker}")

    dr = topology.wait_run(TRAIN, run_id, TRAIN_TIMEOUT + 120)
    assert _value(dr.state) == "success", topology.task_logs(TRAIN, run_id)
    tries = _try_numbers(topology, TRAIN, run_id)
    assert tries["train"] >= 2, f"the killed attempt was not retried: {tries}"
    assert len(_versions_of(topology, run_id)) == 1
    _registry_invariants(topology)
    print(f"worker {worker} killed; tries {tries}")


def test_the_mlflow_server_killed_while_logging_and_while_promoting_leaves_nothing_half_done(
    topology: Topology,
) -> None:
    """SIGKILL MLflow as soon as the training run appears in it (the task is logging), and again
    as soon as training succeeded (promotion starts against a dead server); both tasks retry with
    backoff once it is back, and the registry holds one whole version and a consistent champion."""
    from airflow_client.client import TriggerDAGRunPostBody

    conf = {"reason": "fault: MLflow killed", "force": True}
    run_id = topology.runs.trigger_dag_run(
        TRAIN, TriggerDAGRunPostBody(logical_date=None, conf=conf)
    ).dag_run_id
    key = f"{TRAIN}/{run_id}"
    exp_id = _mlflow(topology).get_experiment_by_name(f"airflow-mlops/{PIPELINE}").experiment_id
    deadline = time.time() + TRAIN_TIMEOUT
    while not _mlflow(topology).search_runs([exp_id], f"tags.`airflow.run_key` = '{key}'"):
        assert time.time() < deadline, topology.task_logs(TRAIN, run_id)
        time.sleep(0.5)
    topology.stack.kill("mlflow", signal.SIGKILL)
    time.sleep(8)
    topology.stack.restart("mlflow")
    _wait_mlflow(topology)

    state = topology.wait_ti_state(TRAIN, run_id, "train", set(), TRAIN_TIMEOUT + 240)
    assert state == "success", (
        f"train {state}\n{topology.task_logs(TRAIN, run_id)}\n{topology.service_logs()}"
    )
    topology.stack.kill("mlflow", signal.SIGKILL)
    time.sleep(10)
    topology.stack.restart("mlflow")
    _wait_mlflow(topology)

    dr = topology.wait_run(TRAIN, run_id, TRAIN_TIMEOUT + 180)
    assert _value(dr.state) == "success", topology.task_logs(TRAIN, run_id)
    tries = _try_numbers(topology, TRAIN, run_id)
    assert tries["train"] >= 2 and tries["promote"] >= 2, f"a fault went unseen: {tries}"
    (version,) = _versions_of(topology, run_id)
    assert version.tags.get("promotion.decided_at") and version.tags.get("promotion.reason"), dict(
        version.tags
    )
    runs = _mlflow(topology).search_runs([exp_id], f"tags.`airflow.run_key` = '{key}'")
    status = sorted(r.info.status for r in runs)
    assert status.count("FINISHED") == 1 and set(status) <= {"FINISHED", "FAILED"}, status
    _registry_invariants(topology)
    print(f"MLflow killed twice; tries {tries}; runs {status}")


def test_the_connection_secret_is_in_no_log_no_mlflow_record_and_no_lake_object(topology: Topology) -> None:
    """The S3 connection's password was used by every task: it must appear nowhere a user reads."""
    secret = STATE["aws_secret"].encode()
    found = [str(p) for p in topology.home.rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert not found, f"the secret is in {found}"
    s3 = topology.s3.client()
    for bucket in ("lake", "mlflow"):
        for k in topology.s3.keys(bucket):
            assert secret not in s3.get_object(Bucket=bucket, Key=k)["Body"].read(), f"s3://{bucket}/{k}"
    client = _mlflow(topology)
    exp = client.get_experiment_by_name(f"airflow-mlops/{PIPELINE}")
    records = [json.dumps([r.data.params, r.data.tags]) for r in client.search_runs([exp.experiment_id])]
    records += [json.dumps(dict(v.tags)) for v in client.search_model_versions(f"name = '{PIPELINE}'")]
    assert not [r for r in records if secret.decode() in r]
    assert len(records) >= 4, "the runs and versions searched are there"
