"""SqlSourceHook, the data sensor and its trigger on a SQL source, against the machine's real
PostgreSQL through an Airflow connection given as ``AIRFLOW_CONN_<ID>``: rows in bounded blocks
from a server-side cursor, refusals as contract errors, readiness by the interval's end."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml
from airflow.sdk.exceptions import TaskDeferred

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.sources import sql as sqlsource
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.hooks import SqlSourceHook
from airflow_mlops.hooks import sql as sql_hook
from airflow_mlops.sensors import DataAvailableSensor
from airflow_mlops.triggers import DataAvailableTrigger
from dev.datasets import load_credit_table
from tests.conftest import PIPELINES
from tests.unit.operators.conftest import make_context

pytestmark = pytest.mark.unit
DAY2 = (datetime(2024, 3, 2, tzinfo=UTC), datetime(2024, 3, 3, tzinfo=UTC))


@pytest.fixture
def pipeline(home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> PipelineConfig:
    """credit_default reading table ``customers`` of a fresh database through connection credit_db."""
    from airflow_mlops.core.foundation.config import load_pipeline

    u = psycopg.conninfo.conninfo_to_dict(postgres_url)
    conn = {"conn_type": "postgres", "host": u["host"], "port": int(u["port"]), "login": u["user"]}
    monkeypatch.setenv("AIRFLOW_CONN_CREDIT_DB", json.dumps({**conn, "schema": u["dbname"]}))
    d = yaml.safe_load((PIPELINES / "credit_default.yaml").read_text())
    d["source"] = {
        "sql": {"conn_id": "credit_db", "table": "customers", "interval_column": "exported_at"},
        "timeout_minutes": 1,
        "poke_interval_seconds": 1,
    }
    folder = home / "pipelines"
    folder.mkdir()
    (folder / "credit_default.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(folder))
    return load_pipeline(folder / "credit_default.yaml")


def test_rows_come_in_blocks_from_a_server_side_cursor(
    pipeline: PipelineConfig, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_credit_table(postgres_url, "customers", "2024-03-01")
    monkeypatch.setattr(sql_hook, "BLOCK_ROWS", 120)
    hook = SqlSourceHook("credit_db")
    stmt = sqlsource.read_statement(pipeline, "2024-03-02", DAY2)
    blocks = hook.read(stmt)
    names, first = next(blocks)
    assert names == ["customer_id", "student", "balance", "income", "default"] and len(first) == 120
    with psycopg.connect(postgres_url) as conn:  # the result waits on the server, not in this process
        held = conn.execute(
            "SELECT state, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND query LIKE '%%FROM \"airflow_mlops_%%'"
        ).fetchall()
    assert len(held) == 1 and held[0][0] == "idle in transaction", held
    assert held[0][1].startswith("FETCH FORWARD 120"), "blocks are fetched from a server-side cursor"
    rest = [len(rows) for _, rows in blocks]
    assert rest == [120, 120, 120, 20]
    res = ingest(
        pipeline,
        Lake((pipeline_home(pipeline) / "lake").as_uri()),
        "2024-03-02",
        interval=DAY2,
        conn=hook,
    )
    assert res.rows == 500


def pipeline_home(cfg: PipelineConfig) -> Path:
    from airflow_mlops.core.foundation.settings import get_settings

    return get_settings().pipelines_dir.parent


def test_a_refusal_is_a_contract_error_naming_the_source(pipeline: PipelineConfig) -> None:
    stmt = sqlsource.read_statement(pipeline, "2024-03-02", DAY2)
    with pytest.raises(DataContractError) as e:
        list(SqlSourceHook("credit_db").read(stmt))
    assert str(e.value) == (
        "credit_default: table 'customers' (connection 'credit_db'): the database refused the query: "
        'relation "customers" does not exist'
    )
    assert sql_hook.refused(e.value.__cause__)  # type: ignore[arg-type]
    assert not sql_hook.refused(psycopg.OperationalError("connection lost")), "worth a retry"


def test_with_pii_the_database_s_words_about_a_value_are_not_repeated(pipeline: PipelineConfig) -> None:
    hook = SqlSourceHook("credit_db")
    cast = "SELECT 'jane@example.com'::int AS customer_id"
    with pytest.raises(DataContractError) as e:
        list(hook.read(sqlsource.SqlStatement(cast, {}, "credit_default: q", private=True)))
    assert str(e.value) == (
        "credit_default: q: the database refused a value (InvalidTextRepresentation; its message is not "
        "shown: the pipeline declares schema.pii)"
    )
    assert e.value.__cause__ is None
    with pytest.raises(DataContractError, match=r"jane@example\.com"):
        list(hook.read(sqlsource.SqlStatement(cast, {}, "credit_default: q")))
    with pytest.raises(DataContractError, match='relation "nowhere" does not exist'):
        list(hook.read(sqlsource.SqlStatement("SELECT * FROM nowhere", {}, "q", private=True)))


def test_a_connection_that_is_no_database_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NOT_SQL", json.dumps({"conn_type": "http", "host": "127.0.0.1"}))
    with pytest.raises(ConfigError, match="connection 'not_sql' gives a HttpHook, not a SQL database hook"):
        _ = SqlSourceHook("not_sql").db


def test_the_sensor_waits_for_a_row_at_or_after_the_interval_end(
    pipeline: PipelineConfig, postgres_url: str
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (customer_id text, exported_at timestamptz)")
        conn.execute("INSERT INTO customers VALUES ('1', '2024-03-02 23:59:59+00')")
    context = make_context(data_interval_start=DAY2[0], data_interval_end=DAY2[1])
    sensor = DataAvailableSensor(
        task_id="wait", pipeline="credit_default", ds="2024-03-02", timeout=60, poke_interval=3
    )
    assert sensor.poke(context) is False, "rows of the interval may still be arriving"
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    trigger = deferred.value.trigger
    assert (
        isinstance(trigger, DataAvailableTrigger)
        and trigger.conn_id == "credit_db"
        and trigger.poke_interval == 3
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_mlops.triggers.data.DataAvailableTrigger"
    assert DataAvailableTrigger(**json.loads(json.dumps(kwargs))).serialize() == (path, kwargs)

    async def scenario() -> dict:
        waiting = asyncio.create_task(_first_event(DataAvailableTrigger(**kwargs | {"poke_interval": 0.05})))
        await asyncio.sleep(0.5)
        assert not waiting.done(), "fired before the interval was closed"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("INSERT INTO customers VALUES ('2', '2024-03-03 00:00:00+00')")
        return await asyncio.wait_for(waiting, 10)

    assert asyncio.run(scenario()) == {
        "status": "found",
        "uri": "sql://credit_db/customers",
    }
    assert sensor.poke(context) is True
    assert sensor.execute(context) == {"uri": "sql://credit_db/customers"}


def test_the_trigger_fires_timeout_at_the_deadline(pipeline: PipelineConfig, postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (exported_at timestamptz)")
    stmt = sqlsource.ready_statement(pipeline, "2024-03-02", DAY2)
    assert stmt is not None
    start = time.time()
    event = asyncio.run(
        _first_event(
            DataAvailableTrigger(
                "sql://credit_db/customers", "credit_db", 0.05, start + 0.3, "sql", stmt.to_json()
            )
        )
    )
    assert event == {"status": "timeout", "uri": "sql://credit_db/customers"} and time.time() - start >= 0.3


def test_a_ready_query_decides_readiness(pipeline: PipelineConfig, postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE loads (ds date, complete boolean)")
        conn.execute("INSERT INTO loads VALUES ('2024-03-02', false)")
    hook = SqlSourceHook("credit_db")
    ready = sqlsource.SqlStatement(
        "SELECT complete FROM loads WHERE ds = %(ds)s::date", {"ds": "2024-03-02"}, "loads"
    )
    assert hook.ready(ready) is False
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE loads SET complete = true")
    assert hook.ready(ready) is True
    assert hook.ready(sqlsource.SqlStatement("SELECT 1 WHERE false", {}, "none")) is False, (
        "no row: not ready"
    )
    with pytest.raises(ConfigError, match="loads: the database refused the readiness query: column"):
        hook.ready(sqlsource.SqlStatement("SELECT nope FROM loads", {}, "loads"))


async def _first_event(trigger: DataAvailableTrigger) -> dict:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")
