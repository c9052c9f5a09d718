"""The AirflowPlugin: macros and links that read state through the same core functions as the CLI."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


def mlops_lake_root() -> str:
    """Macro ``{{ macros.airflow_mlops.mlops_lake_root() }}``: where the lake is."""
    from airflow_mlops.core.settings import get_settings

    return get_settings().lake_root


class MlopsPlugin(AirflowPlugin):
    name = "airflow_mlops"
    macros = [mlops_lake_root]
