"""Where things are: one place that reads the environment, with embedded defaults.

The embedded default keeps everything under ``$AIRFLOW_MLOPS_HOME`` (``./.state``): the lake on
local disk and MLflow on SQLite. Production sets ``AIRFLOW_MLOPS_LAKE_ROOT=s3://...`` and
``MLFLOW_TRACKING_URI=http://...``; no code path assumes a local path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[4]


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Resolved locations of state; build with :func:`get_settings`."""

    home: Path
    lake_root: str
    raw_root: str
    source_roots: tuple[str, ...]
    lake_conn_id: str | None
    pipelines_dir: Path
    expectations_dir: Path
    mlflow_tracking_uri: str
    mlflow_artifact_root: str
    #: Packages (or module prefixes) whose estimators pipelines may name beside scikit-learn.
    estimator_packages: tuple[str, ...] = ()


def get_settings() -> Settings:
    """Read the environment now (not at import) so that tests and tasks can change it."""
    home = _env_path("AIRFLOW_MLOPS_HOME", PROJECT_ROOT / ".state")
    include = _env_path("AIRFLOW_MLOPS_INCLUDE_DIR", PROJECT_ROOT / "include")
    lake = os.environ.get("AIRFLOW_MLOPS_LAKE_ROOT") or (home / "lake").as_uri()
    raw = (os.environ.get("AIRFLOW_MLOPS_RAW_ROOT") or (home / "raw").as_uri()).rstrip("/")
    roots = os.environ.get("AIRFLOW_MLOPS_SOURCE_ROOTS") or raw
    return Settings(
        home=home,
        lake_root=lake.rstrip("/"),
        raw_root=raw,
        source_roots=tuple(r.strip().rstrip("/") for r in roots.split(",") if r.strip()),
        lake_conn_id=os.environ.get("AIRFLOW_MLOPS_LAKE_CONN_ID") or None,
        pipelines_dir=_env_path("AIRFLOW_MLOPS_PIPELINES_DIR", include / "pipelines"),
        expectations_dir=_env_path("AIRFLOW_MLOPS_EXPECTATIONS_DIR", include / "expectations"),
        mlflow_tracking_uri=os.environ.get("MLFLOW_TRACKING_URI")
        or f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
        mlflow_artifact_root=os.environ.get("AIRFLOW_MLOPS_MLFLOW_ARTIFACT_ROOT")
        or (home / "mlflow" / "artifacts").as_uri(),
        estimator_packages=tuple(
            p.strip().rstrip(".")
            for p in os.environ.get("AIRFLOW_MLOPS_ALLOWED_ESTIMATOR_PACKAGES", "").split(",")
            if p.strip()
        ),
    )
