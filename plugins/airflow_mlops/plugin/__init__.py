"""The AirflowPlugin: the MLOps view (a FastAPI app and its entry in the UI's navigation), macros,
and the conf guard. Everything reads state through the same core functions as the CLI."""

from __future__ import annotations

import sys
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_mlops import links
from airflow_mlops.plugin.conf_guard import StrictConfMiddleware

#: The view is built only where it is served; schedulers, workers and DAG processors import this
#: module too, and must not pay for (or depend on) the web stack.
ON_API_SERVER = len(sys.argv) > 1 and sys.argv[1] == "api-server"


def mlops_lake_root() -> str:
    """Macro ``{{ macros.airflow_mlops.mlops_lake_root() }}``: where the lake is."""
    from airflow_mlops.core.foundation.settings import get_settings

    return get_settings().lake_root


def _view_apps() -> list[dict[str, Any]]:
    """The view's app, mounted by the api-server under ``/mlops``."""
    from airflow_mlops.plugin.app import create_app
    from airflow_mlops.plugin.sandbox import PREFIX

    return [{"app": create_app(), "url_prefix": PREFIX, "name": "airflow-mlops MLOps view"}]


#: Relative hrefs: the UI resolves them against the api-server it was served from.
EXTERNAL_VIEWS = [
    {"name": "MLOps", "href": "/mlops/", "destination": "nav", "url_route": "mlops", "nav_top_level": True},
    {"name": "MLOps", "href": "/mlops/dags/{DAG_ID}", "destination": "dag", "url_route": "mlops_dag"},
]


class MlopsPlugin(AirflowPlugin):
    name = "airflow_mlops"
    macros = [mlops_lake_root]
    fastapi_root_middlewares = [
        {"middleware": StrictConfMiddleware, "name": "airflow-mlops: refuse unknown Params in conf"}
    ]
    external_views = EXTERNAL_VIEWS
    operator_extra_links = list(links.ALL)
    if ON_API_SERVER:
        fastapi_apps = _view_apps()
