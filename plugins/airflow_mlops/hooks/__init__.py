"""Airflow hooks: connections -> configured clients (the lake, MLflow, the receivers of alerts)."""

from airflow_mlops.hooks.alerts import SmtpAlertHook, WebhookHook
from airflow_mlops.hooks.lake import LakeHook
from airflow_mlops.hooks.mlflow import MlflowHook

__all__ = ["LakeHook", "MlflowHook", "SmtpAlertHook", "WebhookHook"]
