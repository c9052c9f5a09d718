"""MlflowHook: an Airflow connection (``mlflow_default``) gives the tracking URI and credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow.sdk import Connection
    from mlflow import MlflowClient


class MlflowHook(BaseHook):
    """Resolve the MLflow tracking server from a connection, else from the environment.

    Connection: host (with scheme) and port give the tracking URI; login and password are the
    credentials of a server behind basic auth. Without the connection, ``MLFLOW_TRACKING_URI`` or
    the embedded SQLite store is used.
    """

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    #: Its own type, for the provider's connection form; ``http`` connections work too.
    conn_type = "mlflow"
    hook_name = "MLflow"

    def __init__(self, mlflow_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mlflow_conn_id = mlflow_conn_id

    def _connection(self) -> Connection | None:
        try:
            return self.get_connection(self.mlflow_conn_id)
        except Exception:  # the connection is optional: no connection means the environment decides
            return None

    def tracking_uri(self) -> str | None:
        """The connection's tracking URI (None without the connection)."""
        conn = self._connection()
        if conn is None:
            return None
        host = conn.host or ""
        if "://" not in host:
            host = f"{conn.schema or 'http'}://{host}"
        return f"{host}:{conn.port}" if conn.port else host

    def ui_url(self) -> str | None:
        """Where a browser finds the MLflow UI: the tracking server (connection, else
        ``MLFLOW_TRACKING_URI``), or None when the store is not a server (the embedded SQLite)."""
        import os

        uri = self.tracking_uri() or os.environ.get("MLFLOW_TRACKING_URI", "")
        return uri.rstrip("/") if uri.startswith(("http://", "https://")) else None

    def get_client(self) -> MlflowClient:
        """A client of the connection's server, with its credentials (see ``tracking.configure``)."""
        from airflow_mlops.core.foundation import tracking

        conn = self._connection()
        return tracking.configure(
            tracking_uri=self.tracking_uri(),
            username=conn.login if conn else None,
            password=conn.password if conn else None,
        )
