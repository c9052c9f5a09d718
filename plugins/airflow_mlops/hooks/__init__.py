"""Airflow hooks: connections -> configured clients (the lake, MLflow, the receivers of alerts)."""

from airflow_mlops.hooks.alerts import SmtpAlertHook, WebhookHook
from airflow_mlops.hooks.lake import LakeHook
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.hooks.sql import SqlSourceHook

__all__ = ["LakeHook", "MlflowHook", "SmtpAlertHook", "SqlSourceHook", "WebhookHook"]
