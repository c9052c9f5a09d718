"""Airflow notifiers: a pipeline's alerts to a webhook and by e-mail."""

from airflow_mlops.notifiers.alerts import MlopsNotifier

__all__ = ["MlopsNotifier"]
