"""What each model version records about the code and libraries that made it."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from airflow_mlops import __version__
from airflow_mlops.core.foundation import tracking

pytestmark = pytest.mark.unit


def test_the_code_version_names_the_package_and_the_given_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    tracking._git_sha.cache_clear()
    monkeypatch.setenv("AIRFLOW_MLOPS_CODE_VERSION", "abc123")
    try:
        assert tracking.code_version() == f"{__version__}+abc123"
    finally:
        tracking._git_sha.cache_clear()


def test_library_versions_and_requirements_are_the_installed_ones() -> None:
    libs = tracking.library_versions()
    assert libs["scikit-learn"] == version("scikit-learn") and set(libs) >= {"pandas", "mlflow"}
    reqs = tracking.model_requirements()
    assert f"scikit-learn=={version('scikit-learn')}" in reqs and f"skops=={version('skops')}" in reqs
    assert all("==" in r for r in reqs)


def test_an_experiment_is_made_once_with_local_artifacts_for_sqlite(tmp_path, monkeypatch) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path))
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    first = tracking.ensure_experiment(client, "airflow-mlops/flights_delay")
    assert tracking.ensure_experiment(client, "airflow-mlops/flights_delay") == first
    location = client.get_experiment(first).artifact_location
    assert location.endswith("airflow-mlops_flights_delay"), location
