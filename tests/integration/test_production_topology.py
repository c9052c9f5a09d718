"""The loop on the production topology, driven from outside as a user would (see topology.py).

What a test needs done first is a module-scoped fixture (``ingested``, ``first_model``), never the
state an earlier test left: each test runs alone and in any order. Faults wait for the event they
target (a task running, a run appearing in MLflow, a try failing), never a number of seconds.
"""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from dataclasses import dataclass
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
    TRAIN,
    TRAIN_TIMEOUT,
    WORKERS,
    Ingested,
    Topology,
    _http_ok,
    _tail,
    _value,
    ingested,
    topology,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration
__all__ = ["ingested", "topology"]  # the module-scoped fixtures the tests below share


@dataclass(frozen=True)
class FirstModel:
    """The first retraining run through the REST API, as it ended."""

    conf: dict[str, Any]
    posted: datetime
    run: Any  # the DAG run
    version: Any  # the model version it registered
    champion: str  # the champion alias's version right after the run


@pytest.fixture(scope="module")
def first_model(topology: Topology, ingested: Ingested) -> FirstModel:
    """The first model of the module's fresh registry, trained through the REST API once."""
    from airflow_client.client import TriggerDAGRunPostBody

    conf = {"reason": REASON, "training_window_days": 10, "force": False}
    posted = datetime.now(UTC)
    dr = topology.runs.trigger_dag_run(TRAIN, TriggerDAGRunPostBody(logical_date=None, conf=conf))
    assert dr.conf == conf
    dr = topology.wait_run(TRAIN, dr.dag_run_id, TRAIN_TIMEOUT)
    topology.assert_success(dr)
    client = _mlflow(topology)
    versions = client.search_model_versions(f"name = '{PIPELINE}'")
    mine = [v for v in versions if (v.tags or {}).get("airflow.run_id") == dr.dag_run_id]
    assert len(mine) == 1, (
        f"one version registered by run {dr.dag_run_id}: {[dict(v.tags) for v in versions]}"
    )
    champion = str(client.get_model_version_by_alias(PIPELINE, "champion").version)
    return FirstModel(conf, posted, dr, mine[0], champion)


# --- the loop ------------------------------------------------------------------------------------


def test_ingest_runs_through_the_rest_api(topology: Topology, ingested: Ingested) -> None:
    print(f"POST /auth/token answered {topology.token_response}")
    assert topology.token_response["status"] == 201 and "access_token" in topology.token_response["keys"]
    assert ingested.late_sensor == "deferred", "the late day's sensor waited in the triggerer"
    assert sorted(ingested.runs) == [f"it_ingest__{ds}" for ds in DAYS]
    assert set(ingested.runs.values()) == {"success"}, ingested.runs


def test_retraining_through_the_rest_api_registers_a_model_with_lineage(
    topology: Topology, first_model: FirstModel
) -> None:
    from airflow_mlops.core.foundation.config import load_pipeline

    dr, mv = first_model.run, first_model.version
    _record_latency(topology, dr, first_model.posted)
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
    assert first_model.champion == str(mv.version), "the first model became the champion"


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


def test_snapshots_validations_and_model_artifacts_are_in_s3(
    topology: Topology, first_model: FirstModel
) -> None:
    mv = first_model.version
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


def test_monitor_writes_predictions_and_drift_reports_to_s3(
    topology: Topology, first_model: FirstModel
) -> None:
    """Scored by a champion: the first model, or one a fault test promoted since."""
    from airflow_client.client import TriggerDAGRunPostBody

    ds = DAYS[-1]
    dr = topology.runs.trigger_dag_run(MONITOR, TriggerDAGRunPostBody(logical_date=None, conf={"ds": [ds]}))
    dr = topology.wait_run(MONITOR, dr.dag_run_id, MONITOR_TIMEOUT)
    topology.assert_success(dr)
    states = topology.ti_states(MONITOR, dr.dag_run_id)
    # The run scores the ds asked for, plus any validated batch newer than the newest scored one
    # (a fault test that ran before may have scored some): a predict and a drift report for each.
    assert states["batches"] == "success" and set(states.values()) == {"success"}, states
    mapped = {k for k in states if k != "batches"}
    n = len(mapped) // 2
    assert n >= 1 and mapped == {f"{t}[{i}]" for t in ("predict", "drift_report") for i in range(n)}, states
    part = f"lake/{PIPELINE}/batches/ds={ds}/"
    keys = topology.s3.keys("lake", part)
    assert f"{part}drift/report.html" in keys, keys
    assert f"{part}predictions/predictions.parquet" in keys, keys


def test_tasks_ran_on_both_celery_workers(topology: Topology, ingested: Ingested) -> None:
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
    url = f"{topology.api_base}/api/v2/monitor/health"
    wait_for(lambda: _http_ok(url), timeout, "the api-server back", interval=1, context=topology.service_logs)
    topology._api = None  # log in again


def _wait_mlflow(topology: Topology, timeout: float = 240) -> None:
    url = f"{topology.mlflow_uri}/health"
    wait_for(lambda: _http_ok(url), timeout, "MLflow back", interval=1, context=topology.service_logs)


def _training_run_in_mlflow(topology: Topology, run_id: str) -> list[Any]:
    """Waits until the train task of ``run_id`` has started its MLflow run (it is in the task's own
    code: the data is loaded and it is fitting or logging); returns that run."""
    key = f"{TRAIN}/{run_id}"
    exp_id = _mlflow(topology).get_experiment_by_name(f"airflow-mlops/{PIPELINE}").experiment_id
    return wait_for(
        lambda: _mlflow(topology).search_runs([exp_id], f"tags.`airflow.run_key` = '{key}'"),
        TRAIN_TIMEOUT,
        f"the MLflow run of {key}",
        context=lambda: topology.task_logs(TRAIN, run_id),
    )


def _try_failed(topology: Topology, run_id: str, task_id: str, timeout: float) -> str:
    """Waits until a try of ``task_id`` has failed (the fault was seen: up for retry, or a later
    try under way), or the task ended; returns the state it was found in."""
    from airflow_client.client import ApiException

    def seen() -> str | None:
        topology.check_processes()
        try:
            ti = topology.tis.get_task_instance(TRAIN, run_id, task_id)
        except ApiException as e:  # not scheduled yet
            if e.status != 404:
                raise
            return None
        state = _value(ti.state)
        if state in ("up_for_retry", "success", "failed") or int(ti.try_number) >= 2:
            return f"{state} (try {ti.try_number})"
        return None

    return wait_for(
        seen,
        timeout,
        f"a failed try of {task_id} in {run_id}",
        context=lambda: topology.task_logs(TRAIN, run_id),
    )


def test_clearing_and_rerunning_through_a_scheduler_and_api_server_crash_changes_nothing(
    topology: Topology, first_model: FirstModel
) -> None:
    """Clear an ingest run and the first training run; SIGKILL the scheduler and the api-server
    while they run again and restart them: both runs complete, with the same snapshot, no new data
    file, the same single model version for the training run and the same champion."""
    from airflow_client.client import ClearTaskInstancesBody

    ds, train_run = DAYS[0], first_model.run.dag_run_id
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
        topology.stack.kill(name, signal.SIGKILL)  # returns once the whole process group is gone
    for name in ("scheduler", "api-server"):
        topology.stack.restart(name)
    _wait_api(topology)

    for dag_id, run_id in ((INGEST, ingest_run), (TRAIN, train_run)):
        dr = topology.wait_run(dag_id, run_id, TRAIN_TIMEOUT)
        assert _value(dr.state) == "success", f"{dag_id} {run_id}: {topology.task_logs(dag_id, run_id)}"
    assert _partition(topology, ds) == before
    versions = _versions_of(topology, train_run)
    assert [v.version for v in versions] == [first_model.version.version]
    assert _mlflow(topology).get_model_version_by_alias(PIPELINE, "champion").version == champion
    _registry_invariants(topology)


def test_a_celery_worker_killed_in_the_middle_of_training_is_retried_without_a_duplicate(
    topology: Topology, first_model: FirstModel
) -> None:
    from airflow_client.client import TriggerDAGRunPostBody

    conf = {"reason": "fault: worker SIGKILLed while training", "force": True}
    run_id = topology.runs.trigger_dag_run(
        TRAIN, TriggerDAGRunPostBody(logical_date=None, conf=conf)
    ).dag_run_id
    assert topology.wait_ti_state(TRAIN, run_id, "train", {"running"}, TRAIN_TIMEOUT) == "running"
    _training_run_in_mlflow(topology, run_id)  # into the task: data loaded, fitting or logging
    assert topology.ti_states(TRAIN, run_id)["train"] == "running", "killed while it runs"
    host = topology.tis.get_task_instance(TRAIN, run_id, "train").hostname
    worker = next(w for w in WORKERS if host.startswith(f"{w}@"))
    topology.stack.kill(f"worker-{worker}", signal.SIGKILL)  # returns once the group is gone
    topology.stack.restart(f"worker-{worker}")

    dr = topology.wait_run(TRAIN, run_id, TRAIN_TIMEOUT + 120)
    assert _value(dr.state) == "success", topology.task_logs(TRAIN, run_id)
    tries = _try_numbers(topology, TRAIN, run_id)
    assert tries["train"] >= 2, f"the killed attempt was not retried: {tries}"
    assert len(_versions_of(topology, run_id)) == 1
    _registry_invariants(topology)
    print(f"worker {worker} killed; tries {tries}")


def test_the_mlflow_server_killed_while_logging_and_while_promoting_leaves_nothing_half_done(
    topology: Topology, first_model: FirstModel
) -> None:
    """SIGKILL MLflow as soon as the training run appears in it (the task is logging), and again
    as soon as training succeeded (promotion starts against a dead server); each time it comes back
    once a try of the task has failed on it. Both tasks retry with backoff, and the registry holds
    one whole version and a consistent champion."""
    from airflow_client.client import TriggerDAGRunPostBody

    conf = {"reason": "fault: MLflow killed", "force": True}
    run_id = topology.runs.trigger_dag_run(
        TRAIN, TriggerDAGRunPostBody(logical_date=None, conf=conf)
    ).dag_run_id
    key = f"{TRAIN}/{run_id}"
    exp_id = _mlflow(topology).get_experiment_by_name(f"airflow-mlops/{PIPELINE}").experiment_id
    _training_run_in_mlflow(topology, run_id)
    topology.stack.kill("mlflow", signal.SIGKILL)
    seen = _try_failed(topology, run_id, "train", TRAIN_TIMEOUT)
    assert seen.startswith("up_for_retry") or "try 1" not in seen, (
        f"train did not fail on the dead server: {seen}"
    )
    topology.stack.restart("mlflow")
    _wait_mlflow(topology)

    state = topology.wait_ti_state(TRAIN, run_id, "train", set(), TRAIN_TIMEOUT + 240)
    assert state == "success", (
        f"train {state}\n{topology.task_logs(TRAIN, run_id)}\n{topology.service_logs()}"
    )
    topology.stack.kill("mlflow", signal.SIGKILL)
    seen = _try_failed(topology, run_id, "promote", TRAIN_TIMEOUT)
    assert seen.startswith("up_for_retry") or "try 1" not in seen, (
        f"promote did not fail on the dead server: {seen}"
    )
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


def test_the_connection_secret_is_in_no_log_no_mlflow_record_and_no_lake_object(
    topology: Topology, first_model: FirstModel
) -> None:
    """The S3 connection's password was used by every task: it must appear nowhere a user reads."""
    secret = topology.aws_secret.encode()
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
    run_id = first_model.run.dag_run_id
    assert sum(run_id in r for r in records) >= 2, "the first model's run and version were searched"
