"""Sensors of airflow-mlops."""

from airflow_mlops.sensors.data import DataAvailableSensor

__all__ = ["DataAvailableSensor"]
