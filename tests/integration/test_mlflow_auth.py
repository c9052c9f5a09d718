"""MlflowHook against a real MLflow server behind basic auth: the connection's credentials reach
every kind of request (registry reads, runs, artifact upload through the server, model loading)."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.stack import Stack
from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration
ADMIN = "admin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    home = tmp_path_factory.mktemp("mlflow-auth")
    password = secrets.token_urlsafe(12) + "/+@"  # characters a URL would have to escape
    (home / "basic_auth.ini").write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{home / 'auth.db'}\n"
        f"admin_username = {ADMIN}\nadmin_password = {password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(home / "basic_auth.ini"),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
    }
    stack = Stack(home, env)
    stack.start(
        "mlflow",
        [
            str(Path(sys.executable).parent / "mlflow"), "server", "--app-name", "basic-auth",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
            "--artifacts-destination", str(home / "artifacts"), "--serve-artifacts",
        ],
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            stack.check()
            try:
                urllib.request.urlopen(f"{uri}/health", timeout=2)
                break
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        else:
            pytest.fail(f"MLflow did not come up: {stack.log_path('mlflow').read_text()[-3000:]}")
        yield uri, password
    finally:
        stack.stop()


def _connection(monkeypatch: pytest.MonkeyPatch, uri: str, password: str) -> None:
    """The ``mlflow_default`` connection; MLflow's own variables unset, and restored after the test."""
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    host, port = uri.rsplit(":", 1)
    conn = {"conn_type": "http", "host": host, "port": int(port), "login": ADMIN, "password": password}
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps(conn))


def test_anonymous_requests_are_refused(server: tuple[str, str]) -> None:
    uri, _ = server
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{uri}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10)
    assert e.value.code == 401


def test_the_connection_authenticates_every_kind_of_request(
    server: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from airflow_mlops.core.foundation import registry
    from airflow_mlops.hooks import MlflowHook

    uri, password = server
    _connection(monkeypatch, uri, password)
    hook = MlflowHook()
    assert hook.tracking_uri() == uri and "MLFLOW_TRACKING_PASSWORD" not in os.environ

    client = hook.get_client()
    experiment = client.create_experiment("auth-test")
    X = np.random.default_rng(0).random((60, 3))
    y = (X[:, 0] > 0.5).astype(int)
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model")
        mv = mlflow.register_model(info.model_uri, "auth_model")
    client.set_registered_model_alias("auth_model", registry.CHAMPION, mv.version)
    assert str(registry.ModelRegistry(client, "auth_model").champion().version) == str(mv.version)
    model = mlflow.sklearn.load_model(f"models:/auth_model/{mv.version}")
    assert model.predict(X[:3]).tolist() == LogisticRegression().fit(X, y).predict(X[:3]).tolist()
    out = capfd.readouterr()
    assert password not in out.out + out.err, "the password is never printed"


def test_a_wrong_password_is_refused(server: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.exceptions import MlflowException

    from airflow_mlops.hooks import MlflowHook

    uri, _ = server
    _connection(monkeypatch, uri, "wrong")
    with pytest.raises(MlflowException, match=r"401|Unauthorized|credentials"):
        MlflowHook().get_client().search_experiments(max_results=1)
