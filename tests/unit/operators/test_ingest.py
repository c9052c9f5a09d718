"""IngestOperator: the interval's raw file becomes a snapshot; the snapshot Asset carries what it is."""

from __future__ import annotations

import pytest
from airflow.sdk import Asset

from airflow_mlops.operators import IngestOperator
from tests.unit.conftest import JAN, World

pytestmark = pytest.mark.unit


def test_ingest_records_the_snapshot_on_its_asset(world: World, context) -> None:
    asset = Asset(name="flights_delay.snapshot", group="mlops")
    op = IngestOperator(task_id="ingest", pipeline="flights_delay", asset=asset, outlets=[asset])
    op.render_template_fields(context)
    assert op.ds == JAN[0], "the default interval is the run's data interval start"
    res = op.execute(context)
    assert res["unchanged"] and res["uri"] == world.catalog.snapshot_uri(JAN[0])
    extra = context["outlet_events"][asset].extra
    assert extra == {k: res[k] for k in ("ds", "uri", "rows", "content_hash", "columns", "source_uri")}
    assert extra["content_hash"] == world.catalog.manifest(JAN[0])["content_hash"]


def test_nothing_is_loaded_when_the_dag_is_parsed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path / "nowhere"))
    op = IngestOperator(task_id="ingest", pipeline="no_such_pipeline")
    assert "config" not in op.__dict__ and "lake" not in op.__dict__ and "mlflow" not in op.__dict__
