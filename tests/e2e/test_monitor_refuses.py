"""The monitor DAG, run by Airflow (dag.test), refuses a batch that did not pass validation when it
is forced through its ``ds`` Param: the run fails at its first task, on the first try, naming the
batch and its status; nothing is scored and no drift Asset event is emitted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dev.datasets import write_flights
from tests.conftest import PIPELINES, fast_pipelines

pytestmark = pytest.mark.e2e
DAY, UNCHECKED = "2013-03-05", "2013-03-06"


def test_a_forced_quarantined_or_unchecked_batch_fails_the_monitor_run_at_once(
    airflow_db: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from airflow_mlops.core.data.ingest import ingest
    from airflow_mlops.core.data.validate import validate_snapshot
    from airflow_mlops.core.foundation.catalog import Catalog
    from airflow_mlops.core.foundation.config import load_pipeline
    from airflow_mlops.core.foundation.lake import Lake
    from airflow_mlops.dag_factory import build_dags

    for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path))
    pipelines = fast_pipelines(
        tmp_path / "pipelines", timeout_minutes=0.1, poke_seconds=1, retry_delay=0, retries=2
    )
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(pipelines))
    write_flights((tmp_path / "raw").as_uri(), [DAY, UNCHECKED], sample=0.5)
    raw = tmp_path / "raw" / "flights" / f"{DAY}.csv"
    df = pd.read_csv(raw, dtype=str)
    df.loc[:20, "origin"] = "XXX"
    df.to_csv(raw, index=False)
    cfg, lake = load_pipeline(PIPELINES / "flights_delay.yaml"), Lake((tmp_path / "lake").as_uri())
    ingest(cfg, lake, DAY)
    ingest(cfg, lake, UNCHECKED)
    assert validate_snapshot(cfg, lake, DAY).status == "quarantined"

    dr = build_dags(pipelines)["flights_delay__monitor"].test(run_conf={"ds": [DAY, UNCHECKED]})

    assert dr.state == "failed"
    states = {t.task_id: (str(t.state), t.try_number) for t in dr.get_task_instances()}
    assert states["batches"] == ("failed", 1), states  # tasks.retries is 2: not one was spent
    assert {s for task, (s, _) in states.items() if task != "batches"} <= {"upstream_failed", "None"}
    out = capfd.readouterr()
    log = out.out + out.err
    assert f"NotValidatedError (permanent, not retried): flights_delay interval {DAY} (snapshot " in log
    assert (
        "is quarantined by validation" in log and f"interval {UNCHECKED} " in log and "never validated" in log
    )
    cat = Catalog(lake, cfg.name)
    assert not lake.exists(cat.predictions_uri(DAY)) and cat.drift(DAY) is None
    assert cat.latest_drift() is None
