"""What every airflow-mlops operator shares: its pipeline's config and the lake, read at execute time.

Nothing is loaded in ``__init__``, which runs at every DAG parse.
"""

from __future__ import annotations

from typing import Any

from airflow_mlops.core.config import PipelineConfig, load_pipeline
from airflow_mlops.core.lake import Lake
from airflow_mlops.core.settings import get_settings


class PipelineMixin:
    """Gives an operator ``config()``, ``lake()`` and ``mlflow()`` for its ``pipeline``."""

    pipeline: str
    mlflow_conn_id: str = "mlflow_default"

    def config(self) -> PipelineConfig:
        return load_pipeline(get_settings().pipelines_dir / f"{self.pipeline}.yaml")

    def lake(self) -> Lake:
        from airflow_mlops.hooks.lake import get_lake

        return get_lake()

    def mlflow(self) -> Any:
        from airflow_mlops.hooks.mlflow import MlflowHook

        return MlflowHook(self.mlflow_conn_id).get_client()


def asset_extra(d: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """The small, JSON-safe part of a result that goes into an Asset event."""
    return {k: d[k] for k in keys if k in d and d[k] is not None}
