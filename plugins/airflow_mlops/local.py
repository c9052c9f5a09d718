"""The embedded default, as processes on this machine: Airflow (SQLite, LocalExecutor) and MLflow.

Used by ``make demo`` and ``make up``: one state directory holds Airflow's database and logs, the
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
from typing import Any

from airflow_mlops.core.settings import PROJECT_ROOT

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


@dataclass
class Stack:
    """Processes of the embedded default, stopped together."""

    home: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, args: list[str]) -> None:
        log_dir = self.home / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        out = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child process
        self.procs[name] = subprocess.Popen(
            args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, start_new_session=True
        )
        (self.home / "pids.json").write_text(json.dumps({n: p.pid for n, p in self.procs.items()}))

    def check(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {p.returncode}; see {self.home / 'logs' / (name + '.log')}"
                )

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
        deadline = time.time() + 20
        for p in self.procs.values():
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def stop_recorded(home: Path) -> list[str]:
    """Stop the process groups a previous ``make up`` recorded (for ``make down``)."""
    pids = home / "pids.json"
    stopped = []
    if pids.exists():
        for name, pid in json.loads(pids.read_text()).items():
            try:
                os.killpg(pid, signal.SIGTERM)
                stopped.append(name)
            except ProcessLookupError:
                pass
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
        raise RuntimeError(
            f"port {API_PORT} is in use (another Airflow still running?); stop it or set AIRFLOW_MLOPS_API_PORT"
        )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
        stack.start(name, ["airflow", name])


def start_mlflow(stack: Stack) -> None:
    if not port_free(MLFLOW_PORT):
        raise RuntimeError(
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
            "--backend-store-uri",
            f"sqlite:///{mlflow_dir / 'mlflow.db'}",
            "--default-artifact-root",
            (mlflow_dir / "artifacts").as_uri(),
        ],
    )


class Api:
    """A minimal client of Airflow's REST API v2 (token from the auth manager)."""

    def __init__(self, base: str, user: str = ADMIN[0], password: str = ADMIN[1]) -> None:
        self.base = base.rstrip("/")
        self.user, self.password = user, password
        self.token: str | None = None

    def _req(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.login()}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: HTTP {e.code}: {e.read().decode()[:500]}") from e
        return json.loads(raw) if raw else None

    def login(self) -> str:
        if self.token is None:
            res = self._req(
                "POST", "/auth/token", {"username": self.user, "password": self.password}, auth=False
            )
            self.token = str(res["access_token"])
        return self.token

    def get(self, path: str) -> Any:
        return self._req("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self._req("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._req("PATCH", path, body)

    def wait_ready(self, stack: Stack, dag_ids: list[str], timeout: float = 240) -> None:
        """Until the API answers and every DAG in ``dag_ids`` is parsed."""
        deadline = time.time() + timeout
        missing: list[str] = dag_ids
        while time.time() < deadline:
            stack.check()
            try:
                have = {d["dag_id"] for d in self.get("/api/v2/dags?limit=100")["dags"]}
                missing = [d for d in dag_ids if d not in have]
                if not missing:
                    return
            except (urllib.error.URLError, ConnectionError, RuntimeError, OSError):
                pass
            time.sleep(2)
        raise TimeoutError(
            f"Airflow did not come up with DAGs {missing} in {timeout:.0f} s; see {stack.home}/logs"
        )

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=-run_after")["dag_runs"])

    def wait_runs(self, stack: Stack, dag_id: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """Until at least ``count`` runs of ``dag_id`` exist and all of them have finished."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            stack.check()
            runs = self.runs(dag_id)
            if len(runs) >= count and all(r["state"] in ("success", "failed") for r in runs):
                return runs
            time.sleep(3)
        raise TimeoutError(
            f"{dag_id}: runs did not finish in {timeout:.0f} s: {[r['state'] for r in self.runs(dag_id)]}"
        )
