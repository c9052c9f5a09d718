"""The machine's services for the integration tests, and fresh state on them, always cleaned up.

PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379) are started if they are not
running (a fresh CI machine of this kind); each test module gets its own databases with a random
suffix (dropped at the end, even on failure), a Redis database number it claimed for itself
(flushed at the end) and its own S3 endpoint on loopback (moto's server mode) holding the buckets ``lake`` and ``mlflow``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_CLAIM = "airflow-mlops-tests:claimed-by"
S3_KEY, S3_SECRET, S3_REGION = "testing", "testing", "us-east-1"
BUCKETS = ("lake", "mlflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_listening(port: int, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _listening(port):
            return
        time.sleep(0.5)
    pytest.fail(f"{what} is not listening on 127.0.0.1:{port} after {timeout:.0f} s")


def _ensure_postgres() -> None:
    if _listening(PG_PORT):
        return
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
        check=True,
        capture_output=True,
    )
    _wait_listening(PG_PORT, "PostgreSQL")


def _ensure_redis() -> None:
    if _listening(REDIS_PORT):
        return
    for d in ("/var/lib/redis", "/var/log/redis"):
        os.makedirs(d, exist_ok=True)
    subprocess.run(
        [
            "redis-server",
            "--daemonize", "yes",
            "--bind", "127.0.0.1 -::1",
            "--port", str(REDIS_PORT),
            "--save", "",
            "--appendonly", "no",
            "--dir", "/var/lib/redis",
            "--logfile", "/var/log/redis/ci.log",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    _wait_listening(REDIS_PORT, "Redis")


@pytest.fixture(scope="module", autouse=True)
def _sigterm_unwinds() -> Iterator[None]:
    """A SIGTERM (e.g. a CI timeout) stops the session like Ctrl-C, so that every teardown here runs:
    processes stopped, databases dropped, Redis flushed."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _pg_admin() -> Any:
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    conn.autocommit = True
    return conn


@dataclass(frozen=True)
class Databases:
    airflow: str
    mlflow: str

    def sqlalchemy_url(self, name: str, driver: str = "postgresql") -> str:
        return f"{driver}://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


@pytest.fixture(scope="module")
def databases() -> Iterator[Databases]:
    """Fresh PostgreSQL databases for Airflow and MLflow, dropped at the end even on failure."""
    _ensure_postgres()
    suffix = uuid.uuid4().hex[:10]
    dbs = Databases(airflow=f"airflow_it_{suffix}", mlflow=f"mlflow_it_{suffix}")
    conn = _pg_admin()
    try:
        with conn.cursor() as cur:
            for name in (dbs.airflow, dbs.mlflow):
                cur.execute(f'CREATE DATABASE "{name}"')
        yield dbs
    finally:
        conn.close()
        conn = _pg_admin()
        with conn.cursor() as cur:
            for name in (dbs.airflow, dbs.mlflow):
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A Redis database of this run's own for the Celery broker.

    The first of databases 1-15 that is empty is claimed with ``SET ... NX`` of a key holding this
    run's token, so two runs on one server never share a broker; only a database this run claimed
    is flushed at the end.
    """
    import redis

    _ensure_redis()
    token = uuid.uuid4().hex
    for db in range(1, 16):
        r = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
        if r.dbsize() == 0 and r.set(REDIS_CLAIM, token, nx=True):
            break
        r.close()
    else:
        pytest.fail(f"no empty Redis database among 1-15 on {REDIS_HOST}:{REDIS_PORT} to claim")
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
    finally:
        with contextlib.suppress(Exception):
            if r.get(REDIS_CLAIM) == token.encode():
                r.flushdb()
        r.close()


@dataclass(frozen=True)
class S3:
    endpoint: str

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name=S3_REGION,
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def fsspec_options(self) -> dict[str, object]:
        return {
            "endpoint_url": self.endpoint,
            "key": S3_KEY,
            "secret": S3_SECRET,
            "client_kwargs": {"region_name": S3_REGION},
        }


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    """An S3 endpoint on loopback (moto's server mode) with the buckets ``lake`` and ``mlflow``."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = S3(f"http://{host}:{port}")
        client = endpoint.client()
        for b in BUCKETS:
            client.create_bucket(Bucket=b)
        yield endpoint
    finally:
        server.stop()
