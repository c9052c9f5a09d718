"""Triggers that run in Airflow's triggerer while sensors are deferred."""

from airflow_mlops.triggers.data import DataAvailableTrigger

__all__ = ["DataAvailableTrigger"]
