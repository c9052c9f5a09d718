"""Where things are: the one place that reads the environment.

By default everything is under ``$AIRFLOW_MLOPS_HOME`` (the lake on local disk, MLflow on SQLite);
production sets ``AIRFLOW_MLOPS_LAKE_ROOT=s3://...`` and ``MLFLOW_TRACKING_URI=http://...``. Only a
source checkout has defaults for the home and the include folder (its ``.state`` and ``include``):
an installed package has no folder of its own, and names the unset variable instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from airflow_mlops.core.foundation.errors import ConfigError

#: The checkout's root when the package runs from one (``plugins/airflow_mlops`` in it); for an
#: installed package, a folder of the virtual environment that means nothing (see ``checkout``).
PROJECT_ROOT = Path(__file__).resolve().parents[4]


def checkout() -> Path | None:
    """The source checkout this package runs from, or None when it is installed as a package."""
    here = Path(__file__).resolve()
    if here.parents[3].name == "plugins" and (PROJECT_ROOT / "include").is_dir():
        return PROJECT_ROOT
    return None


def _default(env: str, what: str, under_checkout: str) -> Path:
    """The checkout's ``under_checkout`` folder, or the error naming ``env`` when installed."""
    root = checkout()
    if root is None:
        raise ConfigError(
            f"setting {env} is not set: airflow-mlops is installed as a package, so it has no folder of "
            f"its own for {what}; set {env} in the environment of every Airflow component "
            "(docs/deployment.md, 'Install into an existing Airflow')"
        )
    return root / under_checkout


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else None


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
    home = _env_path("AIRFLOW_MLOPS_HOME") or _default(
        "AIRFLOW_MLOPS_HOME", "its state (the local lake, the embedded MLflow store)", ".state"
    )
    pipelines = _env_path("AIRFLOW_MLOPS_PIPELINES_DIR")
    expectations = _env_path("AIRFLOW_MLOPS_EXPECTATIONS_DIR")
    if pipelines is None or expectations is None:
        include = _env_path("AIRFLOW_MLOPS_INCLUDE_DIR") or _default(
            "AIRFLOW_MLOPS_INCLUDE_DIR", "pipeline files and expectation suites", "include"
        )
        pipelines = pipelines or include / "pipelines"
        expectations = expectations or include / "expectations"
    lake = os.environ.get("AIRFLOW_MLOPS_LAKE_ROOT") or (home / "lake").as_uri()
    raw = (os.environ.get("AIRFLOW_MLOPS_RAW_ROOT") or (home / "raw").as_uri()).rstrip("/")
    roots = os.environ.get("AIRFLOW_MLOPS_SOURCE_ROOTS") or raw
    return Settings(
        home=home,
        lake_root=lake.rstrip("/"),
        raw_root=raw,
        source_roots=tuple(r.strip().rstrip("/") for r in roots.split(",") if r.strip()),
        lake_conn_id=os.environ.get("AIRFLOW_MLOPS_LAKE_CONN_ID") or None,
        pipelines_dir=pipelines,
        expectations_dir=expectations,
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
