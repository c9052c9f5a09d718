"""LakeHook: the lake and the raw sources, reached through Airflow connections.

``s3://`` (and other object store) URIs are reached through an Airflow connection, so credentials
and endpoints live in Airflow: ``AIRFLOW_MLOPS_LAKE_CONN_ID`` for the lake, a pipeline's
``source.conn_id`` for its raw files, falling back to the lake's (raw data often sits beside the
lake). Sensors, triggers and operators never resolve a connection themselves; they ask this hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, ObjectStoragePath

from airflow_mlops.core.foundation.lake import Lake, filesystem
from airflow_mlops.core.foundation.settings import get_settings

if TYPE_CHECKING:
    import fsspec


class LakeHook(BaseHook):
    """Filesystems through ``conn_id``, or through the lake's connection when it is None."""

    conn_name_attr = "lake_conn_id"
    hook_name = "airflow-mlops lake"

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id or get_settings().lake_conn_id

    def filesystem(self, uri: str) -> fsspec.AbstractFileSystem | None:
        """The fsspec filesystem of ``uri`` (None for local paths: plain fsspec reaches them)."""
        if uri.startswith("file://") or "://" not in uri:
            return None
        return ObjectStoragePath(uri, conn_id=self.conn_id).fs if self.conn_id else ObjectStoragePath(uri).fs

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
