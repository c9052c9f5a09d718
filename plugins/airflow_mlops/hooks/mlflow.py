"""MlflowHook: an Airflow connection (``mlflow_default``) gives the tracking URI and credentials."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from mlflow import MlflowClient


class MlflowHook(BaseHook):
    """Resolve the MLflow tracking server from a connection, else from the environment.

    Connection: host (with scheme) and port give the tracking URI; login and password become
    ``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` for a server behind basic auth. Without the
    connection, ``MLFLOW_TRACKING_URI`` or the embedded SQLite store is used.
    """

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    conn_type = "http"
    hook_name = "MLflow"

    def __init__(self, mlflow_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mlflow_conn_id = mlflow_conn_id

    def tracking_uri(self) -> str | None:
        try:
            conn = self.get_connection(self.mlflow_conn_id)
        except Exception:  # the connection is optional: no connection means the environment decides
            return None
        if conn.login:
            os.environ["MLFLOW_TRACKING_USERNAME"] = conn.login
        if conn.password:
            os.environ["MLFLOW_TRACKING_PASSWORD"] = conn.password
        host = conn.host or ""
        if "://" not in host:
            host = f"{conn.schema or 'http'}://{host}"
        return f"{host}:{conn.port}" if conn.port else host

    def get_client(self) -> MlflowClient:
        from airflow_mlops.core import tracking

        return tracking.configure(tracking_uri=self.tracking_uri())
