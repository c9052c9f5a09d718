"""MLflow tracking: point the client at the store, find the experiment, describe the code.

What the registry holds and what its tags mean is :mod:`airflow_mlops.core.foundation.registry`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache
from typing import TYPE_CHECKING

from airflow_mlops import __version__
from airflow_mlops.core.foundation.settings import PROJECT_ROOT, Settings, get_settings

if TYPE_CHECKING:
    from mlflow import MlflowClient


def configure(
    settings: Settings | None = None,
    tracking_uri: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> MlflowClient:
    """Point MLflow at the tracking store and return a client. MLflow reads the URI and credentials
    only from process-wide settings, so this one call sets them, and nothing else does."""
    import mlflow
    from mlflow.environment_variables import MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_USERNAME

    s = settings or get_settings()
    uri = tracking_uri or s.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(uri.removeprefix("sqlite:///")), exist_ok=True)
    for var, value in ((MLFLOW_TRACKING_USERNAME, username), (MLFLOW_TRACKING_PASSWORD, password)):
        if value:
            var.set(value)  # type: ignore[no-untyped-call]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


class _Redirected:
    """Writes to whichever of ``sys.stdout`` / ``sys.stderr`` :data:`_MLFLOW_TARGET` names, as it is
    when a line is written (a task runner or a test may swap them)."""

    def write(self, text: str) -> int:
        return int(getattr(sys, _MLFLOW_TARGET).write(text))

    def flush(self) -> None:
        getattr(sys, _MLFLOW_TARGET).flush()


_MLFLOW_TARGET = "stderr"


def log_to_stdout() -> None:
    """In a task: MLflow writes its INFO lines ("Created version '3'") to stderr, which Airflow's
    task log shows as ERROR on a task that succeeded. Its handler (filters and format kept) writes
    to stdout instead, which Airflow logs at INFO. Not for the CLI, whose stdout may be JSON."""
    import logging

    import mlflow  # noqa: F401  (configures its loggers on import)
    from mlflow.utils.logging_utils import MLFLOW_LOGGING_STREAM

    global _MLFLOW_TARGET
    _MLFLOW_TARGET = "stdout"
    for handler in logging.getLogger("mlflow").handlers:  # MLflow's own handler, no other
        if isinstance(handler, logging.StreamHandler) and handler.stream is MLFLOW_LOGGING_STREAM:
            handler.setStream(_Redirected())  # type: ignore[arg-type]


def keep_stdout_clean() -> None:
    """For the CLI, whose stdout is JSON or a table: MLflow's lines go to stderr, even in a process
    where :func:`log_to_stdout` ran before (a test session, an embedding program)."""
    global _MLFLOW_TARGET
    _MLFLOW_TARGET = "stderr"


def ensure_experiment(client: MlflowClient, name: str, settings: Settings | None = None) -> str:
    """The experiment's id; created with local artifacts only for the embedded SQLite store."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    s = settings or get_settings()
    artifact_location = None
    if client.tracking_uri.startswith("sqlite:"):
        artifact_location = f"{s.mlflow_artifact_root}/{name.replace('/', '_')}"
    try:
        return str(client.create_experiment(name, artifact_location=artifact_location))
    except Exception:
        # Another task created it in the meantime.
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


def code_version() -> str:
    """Package version plus the git commit when the code runs from a checkout."""
    return f"{__version__}+{_git_sha()}" if _git_sha() else __version__


@cache
def _git_sha() -> str:
    env = os.environ.get("AIRFLOW_MLOPS_CODE_VERSION")
    if env:
        return env
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on, recorded with each model version."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in (
        "scikit-learn",
        "pandas",
        "numpy",
        "mlflow",
        "great-expectations",
        "evidently",
        "apache-airflow",
    ):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "absent"
    return out


@cache
def model_requirements() -> list[str]:
    """The pip requirements logged with a model, given so MLflow does not infer them by loading the
    model in a subprocess (seconds of CPU per training)."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("mlflow", "scikit-learn", "skops", "numpy", "scipy", "pandas"):
        try:
            out.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            continue
    return out
