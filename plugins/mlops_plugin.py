"""The file Airflow's plugin loader imports from a checkout's plugins/ folder: registers the
airflow-mlops plugin there, unless the installed package registers it already through its
``airflow.plugins`` entry point (Airflow would skip the second one and report it as an error)."""

from importlib.metadata import entry_points

if not any(ep.value.startswith("airflow_mlops.") for ep in entry_points(group="airflow.plugins")):
    from airflow_mlops.plugin import MlopsPlugin

    __all__ = ["MlopsPlugin"]
