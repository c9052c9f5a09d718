"""``source.kind``: one config model per kind, inferred from the fields when absent, so configs
written before kinds existed keep reading the same way and keep their hashes."""

from __future__ import annotations

import pytest
import yaml

from airflow_mlops.core.foundation.config import (
    FilesSourceConfig,
    PipelineConfig,
    SqlSourceConfig,
    parse_pipeline,
)
from airflow_mlops.core.foundation.errors import ConfigError
from tests.conftest import PIPELINES

pytestmark = pytest.mark.unit
TABLE = {"conn_id": "credit_db", "table": "customers", "interval_column": "exported_at"}


def credit(source: dict) -> PipelineConfig:
    d = yaml.safe_load((PIPELINES / "credit_default.yaml").read_text())
    d["source"] = source
    return parse_pipeline(yaml.safe_dump(d, sort_keys=False), "credit_default.yaml")


def refused(source: dict) -> str:
    with pytest.raises(ConfigError) as e:
        credit(source)
    return str(e.value)


def test_the_kind_is_inferred_from_the_fields() -> None:
    files = credit({"uri": "file:///raw/{ds}.csv"}).source
    assert isinstance(files, FilesSourceConfig) and files.kind == "files"
    sql = credit({"sql": TABLE}).source
    assert isinstance(sql, SqlSourceConfig) and sql.kind == "sql"


def test_writing_the_inferred_kind_changes_nothing_not_even_the_hash() -> None:
    for source in ({"uri": "file:///raw/{ds}.csv"}, {"sql": TABLE}):
        implied, written = credit(source), credit({"kind": credit(source).source.kind, **source})
        assert written == implied and written.config_hash == implied.config_hash


def test_a_sql_pipeline_keeps_the_hash_it_had_before_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recorded at 7dc55db (one model for both kinds, the file fields dumped unset)."""
    monkeypatch.setenv("AIRFLOW_MLOPS_RAW_ROOT", "file:///golden/raw")
    assert credit({"sql": TABLE}).config_hash == "852b5ad9708aaae9"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ({"kind": "delta", "uri": "x/{ds}"}, "source: kind must be one of files, sql"),
        (
            {"kind": "sql", "uri": "file:///raw/{ds}.csv"},
            "source: source.kind sql needs sql (a database table",
        ),
        ({"uri": "file:///raw/{ds}.csv", "sql": TABLE}, "source: give exactly one of uri (files) and sql"),
        (
            {"kind": "files", "uri": "file:///raw/{ds}.csv", "sql": TABLE},
            "source: sql is a field of source.kind sql",
        ),
        (
            {"kind": "sql", "sql": TABLE, "max_bytes": 10},
            "source: max_bytes apply to files (uri), not to source.sql",
        ),
        ({"kind": "files"}, "source: give exactly one of uri (files) and sql"),
        ({"uri": "file:///raw/{ds}.csv", "table": "t"}, "source.table: unknown field"),
        ({"sql": {**TABLE, "table": "a b"}}, "source.sql.table: 'a b' is not a plain table name"),
    ],
)
def test_a_wrong_kind_or_a_field_of_another_kind_is_named(source: dict, error: str) -> None:
    assert f"credit_default.yaml: {error}" in refused(source)
