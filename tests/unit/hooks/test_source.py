"""Every source kind names a hook that exists and takes the source's connection id."""

from __future__ import annotations

import pytest

from airflow_mlops.core.data.sources.base import source_class
from airflow_mlops.core.foundation.config import SOURCE_KINDS
from airflow_mlops.hooks.source import connect

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_each_kind_names_a_hook_built_on_the_sources_connection(kind: str) -> None:
    from airflow.sdk import BaseHook

    hook = connect(source_class(kind).hook, "some_conn")
    assert isinstance(hook, BaseHook) and hook.conn_id == "some_conn"
