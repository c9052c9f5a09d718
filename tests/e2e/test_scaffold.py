"""A pipeline written by `airflow-mlops init` from one day of credit customers runs as written:
ingest, validate, train and register through the factory's DAGs and `dag.test()`, on the days of
the same data that follow the sample."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dev.datasets import daterange, write_credit
from tests.e2e.test_loop import asset_events, succeeded_first_time

pytestmark = pytest.mark.e2e
DAYS = daterange("2024-03-01", 6)


@pytest.fixture(scope="module")
def world(airflow_db, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("scaffold")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "MLFLOW_TRACKING_URI"):
            mp.delenv(var, raising=False)
        mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
        mp.setenv("AIRFLOW_MLOPS_INCLUDE_DIR", str(home / "include"))
        write_credit((home / "raw").as_uri(), DAYS[0])  # raw/credit/<ds>.csv, 500 customers a day
        yield home


def test_the_scaffolded_pipeline_ingests_validates_trains_and_registers(world, capsys) -> None:
    from airflow_mlops.cli import main
    from airflow_mlops.core.foundation import registry, tracking
    from airflow_mlops.dag_factory import build_dags

    sample = world / "raw" / "credit" / f"{DAYS[0]}.csv"
    argv = ["init", "credit", "--sample", str(sample), "--target", "default", "--start-date", DAYS[0]]
    assert main(argv) == 0
    assert "numeric features:     balance, income" in capsys.readouterr().out
    pipelines = world / "include" / "pipelines"
    assert main(["check"]) == 0

    dags = build_dags(pipelines)
    assert {"credit__ingest", "credit__train", "credit__monitor", "credit__rollback"} <= set(dags)
    for ds in DAYS:
        logical = datetime.fromisoformat(ds).replace(tzinfo=UTC) + timedelta(days=1)
        succeeded_first_time(dags["credit__ingest"].test(logical_date=logical))
    # Every day passed the suite drawn from the first one (its margins hold for the days after).
    assert sorted(e["ds"] for e in asset_events("credit.validated")) == DAYS
    summary = json.loads(
        (world / "lake" / "credit" / "batches" / f"ds={DAYS[-1]}" / "validation" / "summary.json").read_text()
    )
    assert summary["status"] == "validated" and summary["evaluated"] >= 15

    succeeded_first_time(dags["credit__train"].test(run_conf={"reason": "e2e: scaffolded pipeline"}))
    client = tracking.configure()
    champ = registry.ModelRegistry(client, "credit").champion()
    assert champ is not None and str(champ.version) == "1"
    tags = registry.tags_of(champ)
    # The gate floor written by init (roc_auc 0.6) is far below what balance and income give.
    assert float(tags["metric.roc_auc"]) > 0.8 and tags["promotion.promoted"] == "True"
    assert json.loads(tags[registry.Tag.WINDOW]) == DAYS
