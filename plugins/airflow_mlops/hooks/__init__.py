"""Airflow hooks: connections -> configured clients (the lake, MLflow)."""

from airflow_mlops.hooks.lake import LakeHook
from airflow_mlops.hooks.mlflow import MlflowHook

__all__ = ["LakeHook", "MlflowHook"]
