"""A SQL-sourced pipeline through the loop with Airflow (issue 11, part 2): ISLR's credit card
customers in a table of the machine's real PostgreSQL, read by interval through an Airflow
connection (``AIRFLOW_CONN_CREDIT_DB``); ingest, validate, train and register run by dag.test(),
and an interval the table has no rows for is quarantined with its statement.

What a test needs done first (the days ingested, the first model) is a module-scoped fixture,
made once by whichever test asks first: each test also runs alone and in any order.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import yaml

from dev.datasets import daterange, load_credit_table
from tests.conftest import PIPELINES, postgres_database
from tests.e2e.test_loop import succeeded_first_time, tis

pytestmark = pytest.mark.e2e
DAYS = daterange("2024-03-01", 16)


def logical(ds: str) -> datetime:
    """The logical date of the @daily run whose data interval starts on ``ds``."""
    return datetime.fromisoformat(ds).replace(tzinfo=UTC) + timedelta(days=1)


@pytest.fixture(scope="module")
def world(airflow_db, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("e2e-sql")
    d = yaml.safe_load((PIPELINES / "credit_default.yaml").read_text())
    d["name"] = "credit_sql"
    d["source"] = {
        "sql": {"conn_id": "credit_db", "table": "customers", "interval_column": "exported_at"},
        "timeout_minutes": 0.1,
        "poke_interval_seconds": 1,
    }
    d["tasks"] = {"retries": 1, "retry_delay_seconds": 0, "timeout_minutes": 10}
    pipelines = home / "pipelines"
    pipelines.mkdir()
    (pipelines / "credit_sql.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    with postgres_database() as url, pytest.MonkeyPatch.context() as mp:
        for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "MLFLOW_TRACKING_URI"):
            mp.delenv(var, raising=False)
        mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
        mp.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(pipelines))
        u = psycopg.conninfo.conninfo_to_dict(url)
        mp.setenv(
            "AIRFLOW_CONN_CREDIT_DB",
            json.dumps(
                {
                    "conn_type": "postgres",
                    "host": u["host"],
                    "port": int(u["port"]),
                    "login": u["user"],
                    "schema": u["dbname"],
                }
            ),
        )
        load_credit_table(url, "customers", DAYS[0])  # 20 days of 500 customers
        from airflow_mlops.dag_factory import build_dags

        yield {"home": home, "url": url, "dags": build_dags(pipelines)}


@pytest.fixture(scope="module")
def ingested(world) -> list[str]:
    """The first fifteen days read from the table and validated; their runs' states."""
    ingest = world["dags"]["credit_sql__ingest"]
    states = []
    for ds in DAYS[:15]:
        dr = ingest.test(logical_date=logical(ds))
        succeeded_first_time(dr)
        states.append(str(dr.state))
    return states


def test_ingest_reads_each_interval_from_the_table_and_validates_it(world, ingested) -> None:
    assert ingested == ["success"] * 15
    batches = world["home"] / "lake" / "credit_sql" / "batches"
    for ds in (DAYS[0], DAYS[14]):
        manifest = json.loads((batches / f"ds={ds}" / "manifest.json").read_text())
        assert manifest["rows"] == 500 and manifest["source_uri"] == "sql://credit_db/customers"
        assert manifest["sql"]["params"]["data_interval_start"] == f"{ds}T00:00:00+00:00"
        summary = json.loads((batches / f"ds={ds}" / "validation" / "summary.json").read_text())
        assert summary["status"] == "validated" and summary["failed"] == [], summary


def test_train_registers_and_promotes_a_model_of_the_sql_batches(world, ingested) -> None:
    from airflow_mlops.core.foundation import registry, tracking
    from airflow_mlops.core.foundation.registry import Tag

    succeeded_first_time(world["dags"]["credit_sql__train"].test(run_conf={"reason": "e2e: SQL source"}))
    champ = registry.ModelRegistry(tracking.configure(), "credit_sql").champion()
    assert champ is not None and str(champ.version) == "1"
    tags = registry.tags_of(champ)
    assert json.loads(tags[Tag.WINDOW]) == DAYS[1:15]
    assert float(tags["metric.roc_auc"]) >= 0.85
    assert tags["promotion.promoted"] == "True"


def test_an_interval_without_rows_is_quarantined_with_its_statement(world, capfd) -> None:
    ds = DAYS[15]
    with psycopg.connect(world["url"], autocommit=True) as conn:  # the day's export went missing
        conn.execute(
            "DELETE FROM customers WHERE exported_at >= %s AND exported_at < %s",
            (logical(ds) - timedelta(days=1), logical(ds)),
        )
    dr = world["dags"]["credit_sql__ingest"].test(logical_date=logical(ds))
    assert dr.state == "failed"
    states = tis(dr)
    assert states["wait_for_data"] == "success", "later rows exist: the interval is closed"
    assert states["ingest"] == "failed" and states["validate"] == "upstream_failed"
    out = capfd.readouterr()
    assert (
        "credit_sql: table 'customers' (connection 'credit_db'): no rows in the data interval"
        in out.out + out.err
    )
    ti = next(t for t in dr.get_task_instances() if t.task_id == "ingest")
    assert ti.try_number == 1, "a refusal is not retried"
    record = json.loads(
        (world["home"] / "lake" / "credit_sql" / "quarantine" / f"ds={ds}" / "reason.json").read_text()
    )
    assert record["sql"]["params"]["ds"] == ds and record["source_uri"] == "sql://credit_db/customers"
    assert "no rows in the data interval" in record["reason"]
    assert not (world["home"] / "lake" / "credit_sql" / "batches" / f"ds={ds}").exists()
