"""Airflow hooks: connections -> configured clients (MLflow, the lake)."""

from airflow_mlops.hooks.lake import get_lake, source_filesystem
from airflow_mlops.hooks.mlflow import MlflowHook

__all__ = ["MlflowHook", "get_lake", "source_filesystem"]
