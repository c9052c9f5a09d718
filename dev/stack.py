"""The embedded default, as processes on this machine: Airflow (SQLite, LocalExecutor) and MLflow.

Used by ``make demo``, ``make up`` and the tests that start real servers: one state directory holds Airflow's database and logs, the
MLflow store, the raw files and the lake, so the Airflow UI and the MLflow UI show the same run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from airflow_mlops.core.foundation.settings import PROJECT_ROOT

API_PORT = int(os.environ.get("AIRFLOW_MLOPS_API_PORT", "8080"))
MLFLOW_PORT = int(os.environ.get("AIRFLOW_MLOPS_MLFLOW_PORT", "5000"))
ADMIN = ("admin", "admin")


def airflow_env(home: Path, api_port: int = API_PORT, **extra: str) -> dict[str, str]:
    """Environment of every Airflow process of the embedded default (and of ``dag.test`` in tests)."""
    af = home / "airflow"
    af.mkdir(parents=True, exist_ok=True)
    pw = af / "simple_auth_manager_passwords.json"
    if not pw.exists():
        pw.write_text(json.dumps({ADMIN[0]: ADMIN[1]}))
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "AIRFLOW_MLOPS_HOME": str(home),
        "AIRFLOW_HOME": str(af),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN[0]}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(pw),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{api_port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{af / 'airflow.db'}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "airflow-mlops-embedded-default-not-for-production",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{api_port}",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "120",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(af / "logs"),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "socket.gethostname",
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
        "GIT_PYTHON_REFRESH": "quiet",
        "NO_PROXY": "*",
    }
    env.update(extra)
    return env


class StackError(Exception):
    """A process of the stack died, or the stack did not come up: names the process and its log."""


@dataclass
class Stack:
    """Processes of the embedded default, each the leader of its own process group, stopped together."""

    home: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)

    def log_path(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        """Start ``args`` as ``name`` with ``env`` (default: the stack's), remembered for restart()."""
        env = self.env if env is None else env
        self.commands[name] = (args, env)
        self.log_path(name).parent.mkdir(parents=True, exist_ok=True)
        self.logs[name] = out = open(self.log_path(name), "ab")  # noqa: SIM115 - closed by stop()
        self.procs[name] = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, start_new_session=True
        )
        (self.home / "pids.json").write_text(json.dumps({n: p.pid for n, p in self.procs.items()}))

    def check(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise StackError(f"{name} exited with {p.returncode}; see {self.log_path(name)}")

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float = 60) -> None:
        """Send ``sig`` to the process group of ``name`` (a fault: SIGKILL; a restart: SIGTERM) and
        wait until the whole group is gone, so that a restart never meets its predecessor."""
        proc = self.procs.pop(name)
        _signal_group(proc.pid, sig)
        deadline = time.time() + timeout
        while group_alive(proc.pid):
            if time.time() > deadline:
                _signal_group(proc.pid, signal.SIGKILL)
            proc.poll()
            time.sleep(0.2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        self.logs.pop(name).close()

    def restart(self, name: str) -> None:
        """Start ``name`` again with the command and environment it was first started with."""
        args, env = self.commands[name]
        self.start(name, args, env)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM every process group (its leader may be dead while its children live on), then
        SIGKILL what is left after ``grace`` seconds; reap the leaders and close the logs."""
        groups = [p.pid for p in self.procs.values()]
        for pgid in groups:
            _signal_group(pgid, signal.SIGTERM)
        deadline = time.time() + grace
        while time.time() < deadline and any(group_alive(g) for g in groups):
            for p in self.procs.values():
                p.poll()
            time.sleep(0.2)
        for pgid in groups:
            _signal_group(pgid, signal.SIGKILL)
        for p in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
        for f in self.logs.values():
            f.close()
        self.procs.clear()
        self.logs.clear()


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies are not)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_recorded(home: Path) -> list[str]:
    """Stop the process groups a previous ``make up`` recorded (for ``make down``)."""
    pids = home / "pids.json"
    stopped = []
    if pids.exists():
        for name, pid in json.loads(pids.read_text()).items():
            if group_alive(pid):
                _signal_group(pid, signal.SIGTERM)
                stopped.append(name)
        pids.unlink()
    return stopped


def migrate(env: dict[str, str]) -> None:
    subprocess.run(["airflow", "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """A SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so ``finally: stack.stop()`` runs."""
    raise SystemExit(128 + signum)


def start_airflow(stack: Stack) -> None:
    if not port_free(API_PORT):
        raise StackError(
            f"port {API_PORT} is in use (another Airflow still running?); stop it or set AIRFLOW_MLOPS_API_PORT"
        )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
        stack.start(name, ["airflow", name])


def start_mlflow(stack: Stack) -> None:
    if not port_free(MLFLOW_PORT):
        raise StackError(
            f"port {MLFLOW_PORT} is in use; stop what runs there or set AIRFLOW_MLOPS_MLFLOW_PORT"
        )
    mlflow_dir = stack.home / "mlflow"
    stack.start(
        "mlflow",
        [
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(MLFLOW_PORT),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{mlflow_dir / 'mlflow.db'}",
            "--default-artifact-root",
            (mlflow_dir / "artifacts").as_uri(),
        ],
    )


class Airflow:
    """Airflow's REST API through the official client (``apache-airflow-client``), as a user drives it."""

    def __init__(self, base: str, user: str = ADMIN[0], password: str = ADMIN[1]) -> None:
        self.base = base.rstrip("/")
        self.user, self.password = user, password
        self._client: Any = None

    def token(self) -> str:
        """A JWT from ``POST /auth/token`` (the one call the generated client does not cover)."""
        body = json.dumps({"username": self.user, "password": self.password}).encode()
        req = urllib.request.Request(
            f"{self.base}/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return str(json.loads(r.read())["access_token"])

    @property
    def client(self) -> Any:
        if self._client is None:
            from airflow_client import client as af

            self._client = af.ApiClient(af.Configuration(host=self.base, access_token=self.token()))
        return self._client

    @property
    def dags(self) -> Any:
        from airflow_client.client import DAGApi

        return DAGApi(self.client)

    @property
    def dag_runs(self) -> Any:
        from airflow_client.client import DagRunApi

        return DagRunApi(self.client)

    def unpause(self, dag_id: str) -> None:
        from airflow_client.client import DAGPatchBody

        self.dags.patch_dag(dag_id, DAGPatchBody(is_paused=False))

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, **body: Any) -> Any:
        """``POST /api/v2/dags/{dag_id}/dagRuns``; ``body`` may set the run id and data interval."""
        from airflow_client.client import TriggerDAGRunPostBody

        return self.dag_runs.trigger_dag_run(
            dag_id, TriggerDAGRunPostBody(conf=conf or {}, **{"logical_date": None, **body})
        )

    def runs(self, dag_id: str) -> list[Any]:
        """The newest 100 runs of ``dag_id`` (``state`` and ``run_type`` as plain strings)."""
        res = self.dag_runs.get_dag_runs(dag_id, limit=100, order_by=["-run_after"])
        return list(res.dag_runs)

    def wait_ready(self, stack: Stack, dag_ids: list[str], timeout: float = 240) -> None:
        """Until the API answers and every DAG in ``dag_ids`` is parsed."""
        from airflow_client.client import ApiException

        deadline = time.time() + timeout
        missing: list[str] = dag_ids
        while time.time() < deadline:
            stack.check()
            try:
                have = {d.dag_id for d in self.dags.get_dags(limit=100).dags}
                missing = [d for d in dag_ids if d not in have]
                if not missing:
                    return
            except (OSError, urllib.error.URLError, ApiException) as e:
                self._client = None  # not up yet: log in again next time
                missing = [f"{d} ({type(e).__name__})" for d in dag_ids]
            time.sleep(2)
        raise StackError(
            f"Airflow did not come up with DAGs {missing} in {timeout:.0f} s; see {stack.home}/logs"
        )


def state(x: Any) -> str:
    """An enum of the generated client as its plain value."""
    return str(getattr(x, "value", x))
