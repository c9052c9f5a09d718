"""IngestOperator: the interval's raw file becomes a snapshot; the snapshot Asset carries what it is."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.operators import IngestOperator
from tests.unit.conftest import JAN, World
from tests.unit.core.data.test_pii import DAYS, PIPELINE, day_frame
from tests.unit.operators.conftest import make_context

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


@pytest.fixture
def passengers(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pipeline whose raw file holds e-mails (hashed) and passport numbers (dropped)."""
    (home / "pipelines").mkdir()
    (home / "pipelines" / "passengers.yaml").write_text(PIPELINE)
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(home / "pipelines"))
    (home / "raw" / "passengers").mkdir(parents=True)
    day_frame(DAYS[0], seed=11).to_csv(home / "raw" / "passengers" / f"{DAYS[0]}.csv", index=False)
    return home


def run_passengers() -> dict:
    start = datetime.fromisoformat(DAYS[0]).replace(tzinfo=UTC)
    context = make_context(
        "passengers__ingest", "manual__pii", data_interval_start=start, data_interval_end=start + timedelta(1)
    )
    return IngestOperator(task_id="ingest", pipeline="passengers", ds=DAYS[0]).execute(context)


def test_the_pii_key_comes_from_the_airflow_variable(
    passengers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.log import redact

    key = "operator-test-key-from-a-variable"
    monkeypatch.setenv("AIRFLOW_VAR_AIRFLOW_MLOPS_PII_KEY", key)  # how Airflow reads a Variable from env
    res = run_passengers()
    raw = day_frame(DAYS[0], seed=11)
    cat = Catalog(Lake((passengers / "lake").as_uri()), "passengers")
    snap = cat.lake.read_parquet(cat.snapshot_uri(DAYS[0]))
    assert res["rows"] == len(snap) == len(raw) and "passport_no" not in res["columns"]
    expected = {
        hmac.new(key.encode(), e.encode(), hashlib.sha256).hexdigest()[:32]
        for e in raw["passenger_email"].dropna()
    }
    assert set(snap["passenger_email"].dropna()) == expected
    assert key not in str(redact(f"key={key}")), "the key is masked in task logs"


def test_a_missing_pii_variable_fails_naming_it(passengers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_VAR_AIRFLOW_MLOPS_PII_KEY", raising=False)
    with pytest.raises(AirflowFailException, match=r"ConfigError \(permanent, not retried\)") as got:
        run_passengers()
    assert isinstance(got.value.__cause__, ConfigError)
    assert "airflow variables set airflow_mlops_pii_key <random secret>" in str(got.value)
    assert not (passengers / "lake").exists()
