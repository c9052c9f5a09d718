"""MlflowHook: the connection gives the tracking server; reading it changes nothing; the client uses it.

A server behind basic auth is tested for real in tests/integration/test_mlflow_auth.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from airflow_mlops.hooks import MlflowHook
from tests.unit.hooks.conftest import assert_airflow_conventions

pytestmark = pytest.mark.unit


def test_without_a_connection_the_environment_decides(home: Path) -> None:
    hook = MlflowHook()
    assert hook.tracking_uri() is None
    assert hook.get_client().tracking_uri == f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"


@pytest.mark.parametrize(
    ("conn", "uri"),
    [
        ({"conn_type": "http", "host": "mlflow", "port": 5000}, "http://mlflow:5000"),
        ({"conn_type": "http", "host": "https://mlflow.example.com"}, "https://mlflow.example.com"),
        ({"conn_type": "http", "host": "mlflow", "schema": "https", "port": 443}, "https://mlflow:443"),
    ],
)
def test_the_connection_gives_the_uri_and_reading_it_has_no_side_effect(
    conn: dict, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_TEST", json.dumps({**conn, "login": "alice", "password": "not-in-the-env"})
    )
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    before = dict(os.environ)
    assert MlflowHook("mlflow_test").tracking_uri() == uri
    assert dict(os.environ) == before


def test_the_hook_follows_airflow_conventions() -> None:
    assert_airflow_conventions(MlflowHook)
    assert getattr(MlflowHook(), MlflowHook.conn_name_attr) == MlflowHook.default_conn_name
