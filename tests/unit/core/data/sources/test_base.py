"""The source of a pipeline by its kind, each kind a module with ``SOURCE``; a source answers
where, whether ready and what the quarantine keeps through whatever connection it is handed."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import yaml

from airflow_mlops.core.data.sources.base import Source, source_class, source_of
from airflow_mlops.core.data.sources.files import FilesSource
from airflow_mlops.core.data.sources.sql import NOT_COPIED, SqlSource
from airflow_mlops.core.foundation.config import SOURCE_KINDS, PipelineConfig, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError
from tests.conftest import PIPELINES

pytestmark = pytest.mark.unit
DAY2 = (datetime(2024, 3, 2, tzinfo=UTC), datetime(2024, 3, 3, tzinfo=UTC))


def credit(source: dict) -> PipelineConfig:
    d = yaml.safe_load((PIPELINES / "credit_default.yaml").read_text())
    d["source"] = source
    return parse_pipeline(yaml.safe_dump(d, sort_keys=False), "credit_default.yaml")


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_each_kind_is_the_module_of_its_name(kind: str) -> None:
    cls = source_class(kind)
    assert issubclass(cls, Source) and cls.kind == kind and cls.__module__.endswith(f".sources.{kind}")


def test_an_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"source\.kind: 'delta' is not one of files, sql"):
        source_class("delta")


def test_a_files_source_asks_its_connection_whether_the_file_exists() -> None:
    src = source_of(credit({"uri": "s3://raw/credit/{ds_nodash}.csv", "conn_id": "aws"}))
    assert isinstance(src, FilesSource) and src.conn_id == "aws"
    check = src.readiness("2024-03-02", None)
    assert check == {"uri": "s3://raw/credit/20240302.csv"}
    asked: list[str] = []
    conn = SimpleNamespace(file_exists=lambda uri: asked.append(uri) or True)
    assert src.ready(check, conn) and asked == ["s3://raw/credit/20240302.csv"]
    assert src.kept_in_quarantine == "The raw file and the reason are"


def test_a_sql_source_carries_its_readiness_statement_as_json() -> None:
    src = source_of(credit({"sql": {"conn_id": "db", "table": "customers", "interval_column": "at"}}))
    assert isinstance(src, SqlSource) and src.conn_id == "db"
    assert src.where("2024-03-02") == "sql://db/customers"
    check = src.readiness("2024-03-02", DAY2)
    assert check is not None and check["params"]["data_interval_end"] == "2024-03-03T00:00:00+00:00"
    conn = SimpleNamespace(ready=lambda stmt: stmt.params["data_interval_end"] == DAY2[1])
    assert src.ready(check, conn), "the statement comes back with its times as datetimes"
    assert src.kept("2024-03-02", None).note is None
    with pytest.raises(ConfigError, match="needs a reader of its database connection"):
        src.open("2024-03-02", DAY2, None)
    batch = src.open("2024-03-02", DAY2, SimpleNamespace(read=None))
    assert src.kept("2024-03-02", batch).note == NOT_COPIED and "sql" in src.kept("2024-03-02", batch).record


def test_a_query_without_ready_query_has_nothing_to_wait_for() -> None:
    src = source_of(credit({"sql": {"conn_id": "db", "query": "SELECT * FROM t WHERE d = %(ds)s"}}))
    assert src.readiness("2024-03-02", DAY2) is None
