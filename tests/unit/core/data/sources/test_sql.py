"""SQL sources (issue 11, part 2) in core, against the machine's real PostgreSQL: the interval's
rows, typed as a file's (the same snapshot hash as the same rows in CSV), and every refusal of the
database quarantined with the statement, never the rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import psycopg
import pytest
import yaml

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.sources import sql as sqlsource
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError
from airflow_mlops.core.foundation.lake import Lake
from dev.datasets import load_credit_table
from tests.conftest import PIPELINES
from tests.unit.core.conftest import hash_before_later_fields

pytestmark = pytest.mark.unit
CREDIT = PIPELINES / "credit_default.yaml"
START = "2024-03-01"
DAY2 = (datetime(2024, 3, 2, tzinfo=UTC), datetime(2024, 3, 3, tzinfo=UTC))


def credit_sql(**sql: str) -> PipelineConfig:
    """The shipped credit pipeline reading a database (``source.sql`` = ``sql``) instead of files."""
    d = yaml.safe_load(CREDIT.read_text())
    d["source"] = {"sql": sql, "timeout_minutes": 1, "poke_interval_seconds": 1}
    return parse_pipeline(yaml.safe_dump(d, sort_keys=False), "credit_default.yaml")


TABLE = credit_sql(conn_id="credit_db", table="customers", interval_column="exported_at")


def reader(url: str) -> SimpleNamespace:
    """A plain psycopg connection for the source (core needs no Airflow): ``read`` gives the
    statement's rows in blocks of 200."""

    def read(stmt: sqlsource.SqlStatement) -> Iterator[sqlsource.Block]:
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            try:
                cur.execute(stmt.sql, stmt.params)
            except psycopg.ProgrammingError as e:
                raise DataContractError(f"{stmt.shown}: {e}") from e
            names = [d[0] for d in cur.description or []]
            while rows := cur.fetchmany(200):
                yield names, rows

    return SimpleNamespace(read=read)


@pytest.fixture
def credit(postgres_url: str) -> pd.DataFrame:
    return load_credit_table(postgres_url, "customers", START)


def test_the_table_gives_the_snapshot_the_same_rows_in_csv_give(
    home: Path, postgres_url: str, credit: pd.DataFrame
) -> None:
    lake = Lake((home / "lake").as_uri())
    res = ingest(TABLE, lake, "2024-03-02", interval=DAY2, conn=reader(postgres_url))
    day = credit[(credit.exported_at >= DAY2[0]) & (credit.exported_at < DAY2[1])]
    assert res.rows == 500 and res.rows_raw == len(day)
    assert res.source_uri == "sql://credit_db/customers"
    # The same customers as the CSV export delivers them (Yes/No flags) through the file reader.
    raw = home / "raw" / "credit"
    raw.mkdir(parents=True)
    out = day.drop(columns="exported_at").assign(default=day["default"].map({True: "Yes", False: "No"}))
    out.to_csv(raw / "2024-03-02.csv", index=False)
    from_csv = ingest(load_pipeline(CREDIT), Lake((home / "csv-lake").as_uri()), "2024-03-02", interval=DAY2)
    assert res.content_hash == from_csv.content_hash and res.columns == from_csv.columns
    assert list(lake.read_parquet(res.uri)["customer_id"]) == list(day["customer_id"])
    manifest = lake.read_json(Catalog(lake, "credit_default").manifest_uri("2024-03-02"))
    assert manifest["sql"]["params"]["data_interval_start"] == DAY2[0].isoformat()
    assert '"default"' in manifest["sql"]["sql"], "a keyword as a column name is quoted"


def _refused(home: Path, cfg: PipelineConfig, url: str, interval=DAY2) -> tuple[str, dict]:
    lake = Lake((home / "lake").as_uri())
    with pytest.raises(DataContractError) as e:
        ingest(cfg, lake, "2024-03-02", interval=interval, conn=reader(url))
    folder = Catalog(lake, cfg.name).quarantine_dir("2024-03-02")
    record = lake.read_json(f"{folder}/reason.json")
    assert [u.rsplit("/", 1)[-1] for u in lake.listdir(folder)] == ["reason.json"], "no rows are copied"
    assert record["reason"] == str(e.value) and record["sql"]["sql"].startswith("SELECT")
    assert not (home / "lake" / cfg.name / "batches").exists(), "nothing snapshotted"
    return str(e.value), record


def test_a_missing_table_is_refused_and_quarantined_with_the_statement(home: Path, postgres_url: str) -> None:
    msg, record = _refused(home, TABLE, postgres_url)
    assert msg.startswith("credit_default: table 'customers' (connection 'credit_db')")
    assert 'relation "customers" does not exist' in msg
    assert record["sql"]["params"] == {
        "data_interval_start": "2024-03-02T00:00:00+00:00",
        "data_interval_end": "2024-03-03T00:00:00+00:00",
        "ds": "2024-03-02",
    }
    assert "postgres" not in json.dumps(record["sql"]), "no connection details"


def test_a_column_of_another_type_is_named(home: Path, postgres_url: str, credit) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE customers ALTER COLUMN balance TYPE text")
    msg, _ = _refused(home, TABLE, postgres_url)
    assert msg == (
        "credit_default: table 'customers' (connection 'credit_db'): column 'balance' is text in the "
        "database, but schema.columns.balance declares float"
    )


def test_an_empty_interval_is_refused(home: Path, postgres_url: str, credit) -> None:
    later = (DAY2[0] + timedelta(days=60), DAY2[1] + timedelta(days=60))
    msg, _ = _refused(home, TABLE, postgres_url, interval=later)
    assert "no rows in the data interval 2024-05-01T00:00:00+00:00..2024-05-02T00:00:00+00:00" in msg


def test_a_query_binds_the_interval_and_its_missing_columns_are_named(
    home: Path, postgres_url: str, credit
) -> None:
    query = credit_sql(
        conn_id="credit_db",
        query='SELECT customer_id, student, balance, income, "default" FROM customers '
        "WHERE exported_at::date = %(ds)s::date ORDER BY exported_at",
    )
    lake = Lake((home / "ok-lake").as_uri())
    res = ingest(query, lake, "2024-03-02", interval=DAY2, conn=reader(postgres_url))
    table = ingest(
        TABLE, Lake((home / "l2").as_uri()), "2024-03-02", interval=DAY2, conn=reader(postgres_url)
    )
    assert res.content_hash == table.content_hash and res.source_uri == "sql://credit_db/query"
    short = credit_sql(
        conn_id="credit_db", query="SELECT customer_id, balance FROM customers WHERE %(ds)s = %(ds)s"
    )
    msg, _ = _refused(home, short, postgres_url)
    assert (
        "the query of source.sql (connection 'credit_db'): missing column(s) ['student', 'income', 'default']"
        in msg
    )


@pytest.mark.parametrize("pii", [False, True])
def test_values_of_mixed_types_are_refused_and_explained_only_without_pii(
    home: Path, postgres_url: str, pii: bool
) -> None:
    """A jsonb column gives Python values of several types; with schema.pii no value is shown."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE c (customer_id jsonb, at timestamptz)")
        conn.execute("INSERT INTO c VALUES ('\"jane@example.com\"', '2024-03-02'), ('7', '2024-03-02')")
    d = yaml.safe_load(CREDIT.read_text())
    d["source"] = {
        "sql": {
            "conn_id": "db",
            "query": "SELECT customer_id, 'No' AS student, 1.0 AS balance, 2.0 AS income, false AS \"default\" "
            "FROM c WHERE at >= %(data_interval_start)s",
        }
    }
    if pii:
        d["schema"]["pii"] = {"customer_id": "hash"}
    cfg = parse_pipeline(yaml.safe_dump(d), "credit_default.yaml")
    with pytest.raises(
        DataContractError, match="column 'customer_id' \\(string\\) holds values of more than one type"
    ) as e:
        ingest(
            cfg,
            Lake((home / "lake").as_uri()),
            "2024-03-02",
            interval=DAY2,
            conn=reader(postgres_url),
            pii_key=b"k" * 32 if pii else None,
        )
    assert "jane@example.com" not in str(e.value)
    if pii:
        assert str(e.value).endswith("(values not shown: the pipeline declares schema.pii)")
        assert e.value.__cause__ is None, "pyarrow's message (which may quote a value) is not chained"
    else:
        assert "Expected bytes, got a 'int' object" in str(e.value)


def test_a_sql_source_needs_an_interval() -> None:
    with pytest.raises(ConfigError, match="reads rows by data interval"):
        sqlsource.read_statement(TABLE, "2024-03-02", None)


def test_typed_columns_give_the_hash_their_csv_gives(home: Path, postgres_url: str) -> None:
    """Integers with nulls, dates, times with zones, decimals: typed as the CSV reader types them."""
    d = {
        "name": "typed",
        "source": {"sql": {"conn_id": "db", "table": "public.t", "interval_column": "at"}},
        "schema": {
            "columns": {"at": "datetime", "n": "int", "x": "float", "ok": "bool", "day": "date", "y": "bool"},
            "target": "y",
            "task": "classification",
            "time_column": "at",
        },
        "features": {"numeric": ["n", "x"]},
        "model": {"estimator": "sklearn.linear_model.LogisticRegression"},
        "metrics": ["accuracy"],
        "gate": {"metric": "accuracy", "minimum": 0.5},
        "validation": {"suite": "typed.json"},
        "schedules": {"ingest": "@daily", "start_date": "2024-03-01"},
    }
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE t (at timestamptz, n bigint, x numeric(8,3), ok boolean, day date, y boolean)"
        )
        conn.execute(
            "INSERT INTO t VALUES ('2024-03-02 10:00+02', 1, 1.5, true, '2024-03-02', false), "
            "('2024-03-02 11:00+00', NULL, NULL, NULL, NULL, true), ('2024-03-03 00:00+00', 3, 2, false, NULL, true)"
        )
    cfg = parse_pipeline(yaml.safe_dump(d), "typed.yaml")
    res = ingest(cfg, Lake((home / "lake").as_uri()), "2024-03-02", interval=DAY2, conn=reader(postgres_url))
    assert res.rows == 2
    raw = home / "raw"
    raw.mkdir()
    (raw / "2024-03-02.csv").write_text(
        "at,n,x,ok,day,y\n2024-03-02T08:00:00Z,1,1.5,true,2024-03-02,false\n2024-03-02T11:00:00Z,,,,,true\n"
    )
    d["source"] = {"uri": f"file://{raw}/{{ds}}.csv"}
    from_csv = ingest(
        parse_pipeline(yaml.safe_dump(d), "typed.yaml"),
        Lake((home / "l2").as_uri()),
        "2024-03-02",
        interval=DAY2,
    )
    assert res.content_hash == from_csv.content_hash and res.columns == from_csv.columns


@pytest.mark.parametrize(
    ("source", "error"),
    [
        (
            {"uri": "file:///raw/{ds}.csv", "sql": {"conn_id": "db", "query": "SELECT %(ds)s"}},
            "source: give exactly one of uri (files) and sql (a database table or query), not both",
        ),
        ({}, "source: give exactly one of uri (files) and sql"),
        (
            {"sql": {"conn_id": "db", "table": "t"}},
            "source.sql: missing interval_column: give table and interval_column, or query",
        ),
        (
            {"sql": {"conn_id": "db", "table": "t", "interval_column": "at", "query": "SELECT %(ds)s"}},
            "source.sql: give either table and interval_column, or query, not both",
        ),
        ({"sql": {"conn_id": "db", "query": "SELECT * FROM t"}}, "source.sql: query binds none of"),
        (
            {"sql": {"conn_id": "db", "query": "SELECT * FROM t WHERE d = %(day)s"}},
            "source.sql.query: unknown parameter(s) ['day']",
        ),
        (
            {"sql": {"conn_id": "db", "query": "SELECT * FROM t WHERE d = %(ds)s AND s LIKE 'a%'"}},
            "source.sql.query: a literal % must be written %%",
        ),
        (
            {"sql": {"conn_id": "db", "table": "t; DROP TABLE x", "interval_column": "at"}},
            "source.sql.table: 't; DROP TABLE x' is not a plain table name",
        ),
        (
            {"sql": {"conn_id": "db", "table": "t", "interval_column": "a b"}},
            "source.sql.interval_column: 'a b' is not a plain column name",
        ),
        (
            {"sql": {"conn_id": "db", "table": "t", "interval_column": "at"}, "format": "csv"},
            "source: format apply to files (uri), not to source.sql",
        ),
        (
            {
                "sql": {
                    "conn_id": "db",
                    "table": "t",
                    "interval_column": "at",
                    "ready_query": "SELECT %(end)s",
                }
            },
            "source.sql.ready_query: unknown parameter(s) ['end']",
        ),
    ],
)
def test_check_explains_each_sql_source_error_by_file_and_field(source: dict, error: str) -> None:
    d = yaml.safe_load(CREDIT.read_text())
    d["source"] = source
    with pytest.raises(ConfigError) as e:
        parse_pipeline(yaml.safe_dump(d), "credit_default.yaml")
    assert f"credit_default.yaml: {error}" in str(e.value)


def test_file_sources_keep_their_config_hash() -> None:
    """source.sql unset adds nothing to the hash: models of file pipelines do not look retrained."""
    cfg = load_pipeline(CREDIT)
    assert cfg.config_hash == hash_before_later_fields(cfg)
    assert TABLE.config_hash != cfg.config_hash
