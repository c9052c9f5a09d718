"""The AirflowPlugin: macros and links that read state through the same core functions as the CLI."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_mlops.plugin.conf_guard import StrictConfMiddleware


def mlops_lake_root() -> str:
    """Macro ``{{ macros.airflow_mlops.mlops_lake_root() }}``: where the lake is."""
    from airflow_mlops.core.settings import get_settings

    return get_settings().lake_root


class MlopsPlugin(AirflowPlugin):
    name = "airflow_mlops"
    macros = [mlops_lake_root]
    fastapi_root_middlewares = [
        {"middleware": StrictConfMiddleware, "name": "airflow-mlops: refuse unknown Params in conf"}
    ]
