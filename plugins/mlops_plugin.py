"""The one file Airflow's plugin loader imports: registers the airflow-mlops plugin."""

from airflow_mlops.plugin import MlopsPlugin

__all__ = ["MlopsPlugin"]
