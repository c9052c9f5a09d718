"""Triggers that run in Airflow's triggerer while sensors are deferred."""

from airflow_mlops.triggers.data import DataAvailableTrigger
from airflow_mlops.triggers.sql import SqlReadyTrigger

__all__ = ["DataAvailableTrigger", "SqlReadyTrigger"]
