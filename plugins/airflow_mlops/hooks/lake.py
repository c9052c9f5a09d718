"""LakeHook: the lake and the raw sources, reached through Airflow connections, so credentials and
endpoints of object stores live in Airflow: the operators' ``lake_conn_id`` (unset, the deployment's
``AIRFLOW_MLOPS_LAKE_CONN_ID``) for the lake, a pipeline's ``source.conn_id`` for its raw files,
falling back to the lake's. Tasks never resolve a connection themselves; they ask this hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, ObjectStoragePath

from airflow_mlops.core.foundation.lake import Lake, filesystem
from airflow_mlops.core.foundation.settings import get_settings

if TYPE_CHECKING:
    import fsspec


class LakeHook(BaseHook):
    """Filesystems through ``lake_conn_id``, or through the lake's connection when it is None.

    ``default_conn_name`` is None on purpose: a local lake needs no connection, and an object store
    without one is reached with the environment's credentials (plain fsspec).
    """

    conn_name_attr = "lake_conn_id"
    default_conn_name: str | None = None  # type: ignore[assignment]
    hook_name = "airflow-mlops lake"

    def __init__(self, lake_conn_id: str | None = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lake_conn_id = lake_conn_id or get_settings().lake_conn_id

    @property
    def conn_id(self) -> str | None:
        """The connection in use (``lake_conn_id``), by the name Airflow's hooks commonly use."""
        return self.lake_conn_id

    def filesystem(self, uri: str) -> fsspec.AbstractFileSystem | None:
        """The fsspec filesystem of ``uri`` (None for local paths: plain fsspec reaches them)."""
        if uri.startswith("file://") or "://" not in uri:
            return None
        conn = self.lake_conn_id
        return ObjectStoragePath(uri, conn_id=conn).fs if conn else ObjectStoragePath(uri).fs

    def get_lake(self) -> Lake:
        """The lake at ``AIRFLOW_MLOPS_LAKE_ROOT``."""
        root = get_settings().lake_root
        fs = self.filesystem(root)
        return Lake(root, fs) if fs is not None else Lake(root)

    def file_exists(self, uri: str) -> bool:
        """Whether ``uri`` exists now, or for a pattern (``*``, ``?``, ``[``) whether a file matches
        it (listing caches are dropped first: the file may have just arrived)."""
        from airflow_mlops.core.data.sources.rawfile import is_glob

        fs, path = filesystem(uri, self.filesystem(uri))
        if is_glob(path):
            fs.invalidate_cache()
            return bool(fs.glob(path))
        fs.invalidate_cache(path)
        return bool(fs.exists(path))
