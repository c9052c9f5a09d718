"""The one way from a source to the Airflow hook it reads through, whatever its kind: core names
the hook by dotted path (:attr:`~airflow_mlops.core.data.sources.base.Source.hook`), since core
never imports Airflow; the sensor, the trigger and the ingest operator build it here."""

from __future__ import annotations

import importlib
from typing import Any


def connect(hook: str, conn_id: str | None) -> Any:
    """An instance of the hook class at dotted path ``hook`` on connection ``conn_id`` (None: the
    hook's own default, e.g. the lake's connection for files)."""
    module, _, name = hook.rpartition(".")
    return getattr(importlib.import_module(module), name)(conn_id)
