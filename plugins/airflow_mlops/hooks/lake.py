"""The lake and raw sources as Airflow sees them: ObjectStoragePath with a connection.

``s3://`` roots are reached through an Airflow AWS connection (``AIRFLOW_MLOPS_LAKE_CONN_ID`` for
the lake, ``source.conn_id`` for raw files), so credentials and endpoints live in Airflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import ObjectStoragePath

from airflow_mlops.core.lake import Lake
from airflow_mlops.core.settings import get_settings

if TYPE_CHECKING:
    import fsspec


def filesystem_for(uri: str, conn_id: str | None) -> fsspec.AbstractFileSystem | None:
    """The fsspec filesystem of ``uri`` through connection ``conn_id`` (None: plain fsspec)."""
    if uri.startswith("file://") or "://" not in uri:
        return None
    return ObjectStoragePath(uri, conn_id=conn_id).fs if conn_id else ObjectStoragePath(uri).fs


def get_lake() -> Lake:
    s = get_settings()
    fs = filesystem_for(s.lake_root, s.lake_conn_id)
    return Lake(s.lake_root, fs) if fs is not None else Lake(s.lake_root)


def source_filesystem(uri: str, conn_id: str | None) -> fsspec.AbstractFileSystem | None:
    """Raw files use ``source.conn_id``, else the lake's connection (raw data often sits beside the lake)."""
    return filesystem_for(uri, conn_id or get_settings().lake_conn_id)
