"""The production topology, started for real from processes on this machine (a module-scoped fixture).

PostgreSQL (Airflow metadata, Celery results, MLflow store), Redis (Celery broker), an S3 endpoint
on loopback (moto's server mode: the lake, the raw files and MLflow's artifacts), an MLflow tracking
server proxying artifacts to S3, and Airflow with the CeleryExecutor and the FAB auth manager:
api-server, scheduler, dag-processor, triggerer and two Celery workers.

The loop is driven only from outside, like a user would: the official ``apache-airflow-client``
(token from ``POST /auth/token``), MLflow's own client, and boto3 against the S3 endpoint.
One module-scoped stack, shared by the tests of a module. What a test needs the loop to have done
first (days ingested, a first model) is a module-scoped fixture of its own, so each test also runs
alone and in any order.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dev.datasets import daterange
from dev.stack import Stack, airflow_env
from tests.conftest import fast_pipelines
from tests.integration.conftest import S3, Databases, free_port

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PIPELINE = "flights_delay"
INGEST, MONITOR, TRAIN = (f"{PIPELINE}__{k}" for k in ("ingest", "monitor", "train"))
DAYS = daterange("2013-01-02", 6)
LAKE, RAW = "s3://lake/lake", "s3://lake/raw"
REASON = "integration: retrain via API"
WORKERS = ("w1", "w2")
ADMIN = "admin"

# A 2-core machine runs ~10 Airflow and MLflow processes here: timeouts are generous.
START_TIMEOUT = 300
INGEST_TIMEOUT = 420
TRAIN_TIMEOUT = 360
MONITOR_TIMEOUT = 300


def _tail(path: Path, chars: int = 2500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError as e:
        return f"({e})"


@dataclass
class Topology:
    home: Path
    stack: Stack
    api_base: str
    mlflow_uri: str
    s3: S3
    password: str
    pipelines: Path
    aws_secret: str  # the S3 connection's password, searched for in every output
    token_response: dict[str, Any] = field(default_factory=dict)  # what POST /auth/token answered
    _api: Any = field(default=None, repr=False)

    # --- diagnostics -----------------------------------------------------------------------
    def service_logs(self) -> str:
        logs = sorted((self.home / "logs").glob("*.log"))
        return "\n".join(f"----- {p.name} (tail)\n{_tail(p)}" for p in logs)

    def task_logs(self, dag_id: str, run_id: str) -> str:
        base = self.home / "airflow" / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        logs = sorted(base.rglob("*.log"))
        return "\n".join(f"----- {p.relative_to(base)} (tail)\n{_tail(p, 3000)}" for p in logs)

    def check_processes(self) -> None:
        try:
            self.stack.check()
        except RuntimeError as e:
            pytest.fail(f"{e}\n{self.service_logs()}")

    # --- the official REST API client ------------------------------------------------------
    def token(self) -> str:
        req = urllib.request.Request(
            f"{self.api_base}/auth/token",
            data=json.dumps({"username": ADMIN, "password": self.password}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body = json.loads(r.read())
        self.token_response = {"status": r.status, "keys": sorted(body)}
        return str(body["access_token"])

    @property
    def api(self) -> Any:
        if self._api is None:
            from airflow_client import client as af

            self._api = af.ApiClient(af.Configuration(host=self.api_base, access_token=self.token()))
        return self._api

    @property
    def dags(self) -> Any:
        from airflow_client.client import DAGApi

        return DAGApi(self.api)

    @property
    def runs(self) -> Any:
        from airflow_client.client import DagRunApi

        return DagRunApi(self.api)

    @property
    def tis(self) -> Any:
        from airflow_client.client import TaskInstanceApi

        return TaskInstanceApi(self.api)

    def run_count(self, dag_id: str) -> int:
        return int(self.runs.get_dag_runs(dag_id, limit=1).total_entries)

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> Any:
        """Until the run ends; fails with the service logs if it does not in ``timeout``."""
        deadline = time.time() + timeout
        state = "?"
        while time.time() < deadline:
            self.check_processes()
            dr = self.runs.get_dag_run(dag_id, run_id)
            state = _value(dr.state)
            if state in ("success", "failed"):
                return dr
            time.sleep(3)
        pytest.fail(
            f"{dag_id} run {run_id} still {state} after {timeout:.0f} s\n"
            f"{self.task_logs(dag_id, run_id)}\n{self.service_logs()}"
        )

    def wait_ti_state(self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout: float) -> str:
        """Until the task instance is in one of ``states`` or has finished; returns its state."""
        from airflow_client.client import ApiException

        deadline = time.time() + timeout
        state = "none"
        while time.time() < deadline:
            self.check_processes()
            try:
                state = _value(self.tis.get_task_instance(dag_id, run_id, task_id).state)
            except ApiException as e:  # the run has no task instances yet
                if e.status != 404:
                    raise
            if state in states | {"success", "failed", "upstream_failed", "skipped"}:
                return state
            time.sleep(2)
        pytest.fail(
            f"{dag_id}/{run_id}/{task_id} still {state} after {timeout:.0f} s\n"
            f"{self.task_logs(dag_id, run_id)}\n{self.service_logs()}"
        )

    def ti_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        res = self.tis.get_task_instances(dag_id, run_id, limit=100)
        return {
            f"{t.task_id}{'' if t.map_index is None or t.map_index < 0 else f'[{t.map_index}]'}": _value(
                t.state
            )
            for t in res.task_instances
        }

    def assert_success(self, dr: Any) -> None:
        """The run succeeded, and no task of it needed a retry to get there."""
        state = _value(dr.state)
        assert state == "success", (
            f"{dr.dag_id} run {dr.dag_run_id}: {state}, tasks {self.ti_states(dr.dag_id, dr.dag_run_id)}\n"
            f"{self.task_logs(dr.dag_id, dr.dag_run_id)}"
        )
        tis = self.tis.get_task_instances(dr.dag_id, dr.dag_run_id, limit=100).task_instances
        retried = {t.task_id: t.try_number for t in tis if _value(t.state) == "success" and t.try_number != 1}
        assert not retried, (
            f"{dr.dag_id} run {dr.dag_run_id}: tasks that succeeded only on a retry (try numbers): {retried}\n"
            f"{self.task_logs(dr.dag_id, dr.dag_run_id)}"
        )


def _value(x: Any) -> str:
    return str(getattr(x, "value", x))


def _pipelines(dst: Path) -> Path:
    # Five retries (5, 10, 20, 40, 80 s apart): time for a killed worker or MLflow server to come back.
    return fast_pipelines(dst, timeout_minutes=2, poke_seconds=5, retry_delay=5, retries=5)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    p = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    if p.returncode != 0:
        pytest.fail(f"{what} exited with {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-5000:]}")


def _celery_import_error() -> str | None:
    """Why this venv's Celery executor cannot be imported (None if it can), checked in a fresh process."""
    p = subprocess.run(
        [sys.executable, "-c", "import airflow.providers.celery.executors.celery_executor_utils"],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if p.returncode == 0 else (p.stderr.strip().splitlines() or ["?"])[-1]


def _write_raw_files(s3: S3, days: list[str]) -> None:
    """Real flights of 2013 as raw daily CSVs on S3, written through fsspec/s3fs like the product."""
    import fsspec

    from dev.datasets import write_flights

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(fsspec.config.conf, "s3", s3.fsspec_options())
        write_flights(RAW, days, sample=0.5)


@pytest.fixture(scope="module")
def topology(
    databases: Databases, redis_url: str, s3: S3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    from cryptography.fernet import Fernet

    home = tmp_path_factory.mktemp("topology")
    pipelines = _pipelines(home / "pipelines")
    _write_raw_files(s3, DAYS[:-1])  # the last day arrives while its sensor waits (test_ingest_...)

    api_port, mlflow_port = free_port(), free_port()
    api_base, mlflow_uri = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{mlflow_port}"
    password = secrets.token_urlsafe(16)
    aws_secret = f"SECRET{secrets.token_hex(12)}"
    aws = {
        "MLFLOW_S3_ENDPOINT_URL": s3.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env = airflow_env(home, api_port=api_port)
    celery_error = _celery_import_error()
    assert celery_error is None, (
        f"Airflow's Celery executor does not import with celery {_version('celery')}: {celery_error}. "
        "celery 5.7 removed celery.backends.database.retry, which providers-celery imports: keep celery<5.7."
    )
    for dev_only in (
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    ):
        env.pop(dev_only, None)
    env.update(
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": databases.sqlalchemy_url(
                databases.airflow, "postgresql+psycopg2"
            ),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(2 * len(WORKERS)),
            "AIRFLOW__CELERY__BROKER_URL": redis_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": databases.sqlalchemy_url(databases.airflow, "db+postgresql"),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": api_base,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_base}/execution/",
            # No log server runs (--skip-serve-logs: it would bind every interface); all processes
            # share this machine's log folder. Free ports all the same, in case one starts.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {
                    "conn_type": "aws",
                    "login": "testing",
                    "password": aws_secret,  # moto accepts any; searched for in every output
                    "extra": {"endpoint_url": s3.endpoint, "region_name": "us-east-1"},
                }
            ),
            "AIRFLOW_MLOPS_LAKE_ROOT": LAKE,
            "AIRFLOW_MLOPS_LAKE_CONN_ID": "aws_default",
            "AIRFLOW_MLOPS_RAW_ROOT": RAW,
            "AIRFLOW_MLOPS_PIPELINES_DIR": str(pipelines),
            "MLFLOW_TRACKING_URI": mlflow_uri,
            # A killed worker's task is failed (and retried) after 20 s without a heartbeat, not 300.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            # A dead MLflow server fails a task in seconds (Airflow retries it), not after minutes.
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
            **aws,
        }
    )
    mlflow_env = {**env, **aws}
    stack = Stack(home, env)
    topo = Topology(home, stack, api_base, mlflow_uri, s3, password, pipelines, aws_secret)
    try:
        stack.start(
            "mlflow",
            [
                str(BIN / "mlflow"), "server",
                "--host", "127.0.0.1",
                "--port", str(mlflow_port),
                "--workers", "1",
                "--backend-store-uri", databases.sqlalchemy_url(databases.mlflow),
                "--artifacts-destination", "s3://mlflow",
                "--serve-artifacts",
            ],
            env=mlflow_env,
        )  # fmt: skip
        af = str(BIN / "airflow")
        _run([af, "db", "migrate"], env, "airflow db migrate")
        _run(
            [af, "users", "create", "--username", ADMIN, f"--password={password}", "--role", "Admin",
             "--email", "admin@example.com", "--firstname", "a", "--lastname", "b"],
            env,
            "airflow users create",
        )  # fmt: skip
        stack.start("api-server", [af, "api-server", "--host", "127.0.0.1", "--port", str(api_port)])
        stack.start("scheduler", [af, "scheduler"])
        stack.start("dag-processor", [af, "dag-processor"])
        stack.start("triggerer", [af, "triggerer", "--skip-serve-logs"])
        for w in WORKERS:
            worker_env = {
                **env,
                "AIRFLOW_MLOPS_IT_WORKER": w,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "_worker_hostname.hostname",
                "PYTHONPATH": os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p),
            }
            stack.start(
                f"worker-{w}",
                [af, "celery", "worker", "--celery-hostname", f"{w}@%h", "--concurrency", "2",
                 "--skip-serve-logs"],
                env=worker_env,
            )  # fmt: skip
        _wait_ready(topo)
        yield topo
    finally:
        stack.stop()


def _wait_ready(topo: Topology) -> None:
    """Until MLflow and the api-server answer, the DAGs are parsed and both workers are ready."""
    import urllib3
    from airflow_client.client import ApiException

    deadline = time.time() + START_TIMEOUT
    waiting: list[str] = []
    while time.time() < deadline:
        topo.check_processes()
        waiting = []
        if not _http_ok(f"{topo.mlflow_uri}/health"):
            waiting.append("mlflow /health")
        if not _http_ok(f"{topo.api_base}/api/v2/monitor/health"):
            waiting.append("api-server health")
        else:
            try:
                have = {d.dag_id for d in topo.dags.get_dags(dag_id_pattern=PIPELINE, limit=100).dags}
            except (ApiException, OSError, urllib3.exceptions.HTTPError) as e:  # token or API not ready yet
                have = set()
                waiting.append(f"DAG list ({type(e).__name__})")
            waiting += [f"DAG {d}" for d in (INGEST, MONITOR, TRAIN) if d not in have]
        for w in WORKERS:
            if " ready." not in _tail(topo.home / "logs" / f"worker-{w}.log", 200_000):
                waiting.append(f"worker {w}")
        if not waiting:
            return
        time.sleep(3)
    pytest.fail(
        f"the stack did not come up in {START_TIMEOUT} s; waiting for {waiting}\n{topo.service_logs()}"
    )


def _interval(ds: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(ds).replace(hour=6, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


@dataclass(frozen=True)
class Ingested:
    """The ingest runs of DAYS: the late day's sensor state while its file was missing, and each
    run's final state."""

    late_sensor: str
    runs: dict[str, str]


@pytest.fixture(scope="module")
def ingested(topology: Topology) -> Ingested:
    """DAYS ingested through the REST API, once per module, for the tests that need the data."""
    return ingest_days(topology)


def ingest_days(topology: Topology) -> Ingested:
    """Trigger one ingest run per day of DAYS through the REST API; the last day's file arrives late."""
    from airflow_client.client import DAGPatchBody, TriggerDAGRunPostBody

    for dag_id in (INGEST, MONITOR, TRAIN):
        assert topology.dags.patch_dag(dag_id, DAGPatchBody(is_paused=False)).is_paused is False
    run_ids = []
    for ds in DAYS:
        start, end = _interval(ds)
        dr = topology.runs.trigger_dag_run(
            INGEST,
            TriggerDAGRunPostBody(
                dag_run_id=f"it_ingest__{ds}",
                logical_date=end,
                data_interval_start=start,
                data_interval_end=end,
                conf={},
            ),
        )
        run_ids.append(dr.dag_run_id)
    deadline = time.time() + INGEST_TIMEOUT
    # The last day's raw file is not there yet: its sensor defers to the triggerer, which must see
    # the file appear on S3 through the aws_default connection.
    late = run_ids[-1]
    state = topology.wait_ti_state(INGEST, late, "wait_for_data", {"deferred"}, deadline - time.time())
    assert state == "deferred", (
        f"wait_for_data of {late} is {state}, expected deferred while the raw file is missing\n"
        f"{topology.task_logs(INGEST, late)}"
    )
    _write_raw_files(topology.s3, DAYS[-1:])
    runs = {}
    for run_id in run_ids:
        dr = topology.wait_run(INGEST, run_id, max(10.0, deadline - time.time()))
        topology.assert_success(dr)
        runs[run_id] = _value(dr.state)
    return Ingested(state, runs)
