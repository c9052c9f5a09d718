"""Shared fixtures.

Airflow reads its configuration when it is first imported, so the Airflow environment of the test
session (its own AIRFLOW_HOME and SQLite database under a temporary directory) is set here, at
import time, before any test module imports Airflow.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.stack import airflow_env

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "include" / "pipelines"
SESSION_DIR = Path(tempfile.mkdtemp(prefix="airflow-mlops-tests-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


API_PORT = free_port()
AIRFLOW_ENV = airflow_env(SESSION_DIR / "session", api_port=API_PORT)
AIRFLOW_ENV.pop("MLFLOW_TRACKING_URI")  # each test's AIRFLOW_MLOPS_HOME decides where MLflow is
os.environ.update({k: v for k, v in AIRFLOW_ENV.items() if k.startswith("AIRFLOW__") or k == "AIRFLOW_HOME"})
os.environ.pop("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", None)  # dag.test runs the execution API in-process


def fast_pipelines(
    dst: Path, timeout_minutes: float, poke_seconds: float, retry_delay: float, retries: int = 1
) -> Path:
    """include/pipelines rewritten for tests: a short sensor timeout, quick retries, a small training minimum."""
    import yaml

    dst.mkdir(exist_ok=True)
    for src in PIPELINES.glob("*.yaml"):
        d = yaml.safe_load(src.read_text())
        d["source"].update(timeout_minutes=timeout_minutes, poke_interval_seconds=poke_seconds)
        d["tasks"] = {"retries": retries, "retry_delay_seconds": retry_delay, "timeout_minutes": 10}
        d["split"]["min_training_rows"] = 200
        (dst / src.name).write_text(yaml.safe_dump(d, sort_keys=False))
    return dst


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh AIRFLOW_MLOPS_HOME with the embedded defaults pointing into it."""
    for var in (
        "AIRFLOW_MLOPS_LAKE_ROOT",
        "AIRFLOW_MLOPS_RAW_ROOT",
        "AIRFLOW_MLOPS_LAKE_CONN_ID",
        "MLFLOW_TRACKING_URI",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path))
    yield tmp_path


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database of its own on the machine's PostgreSQL (127.0.0.1:5432, user postgres,
    trust), dropped at the end (with any connection a failed test left open)."""
    import uuid

    import psycopg

    name = f"airflow_mlops_test_{uuid.uuid4().hex[:12]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a database of the test's own (see :func:`postgres_database`)."""
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def airflow_db() -> dict[str, str]:
    """The session's Airflow metadata database, migrated once."""
    subprocess.run(["airflow", "db", "migrate"], env=AIRFLOW_ENV, check=True, capture_output=True)
    return AIRFLOW_ENV
