"""ValidateDataOperator: the verdict reaches XCom first; only a passing batch reaches the validated Asset."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from airflow.sdk import Asset, AssetAlias
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.operators import ValidateDataOperator
from tests.conftest import PIPELINES
from tests.unit.conftest import JAN, World
from tests.unit.operators.conftest import alias_events

pytestmark = pytest.mark.unit
ASSET = Asset(name="flights_delay.validated", group="mlops")
ALIAS = AssetAlias(name="flights_delay.validated-alias")


def _op(ds: str) -> ValidateDataOperator:
    return ValidateDataOperator(
        task_id="validate", pipeline="flights_delay", ds=ds, asset=ASSET, outlets=[ALIAS]
    )


def test_a_passing_batch_emits_the_validated_asset(world: World, context) -> None:
    summary = _op(JAN[1]).execute(context)
    assert summary["status"] == "validated" and context["ti"].xcoms["validation"] == summary
    keys = ("ds", "snapshot_uri", "snapshot_hash", "evaluated", "result_uri")
    assert alias_events(context) == [(ALIAS.name, ASSET.name, {k: summary[k] for k in keys})]


def test_a_quarantined_batch_goes_on_without_an_event(world: World, bad_batch: str, context) -> None:
    summary = _op(bad_batch).execute(context)
    assert summary["status"] == "quarantined" and context["ti"].xcoms["validation"] == summary
    assert [f["column"] for f in summary["failed"]] == ["origin"]
    assert alias_events(context) == []


def test_a_failing_batch_fails_after_pushing_why(
    world: World, bad_batch: str, context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = yaml.safe_load((PIPELINES / "flights_delay.yaml").read_text())
    d["validation"]["on_failure"] = "fail"
    (tmp_path / "flights_delay.yaml").write_text(yaml.safe_dump(d))
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path))
    with pytest.raises(AirflowFailException, match=r"expect_column_values_to_be_in_set on column 'origin'"):
        _op(bad_batch).execute(context)
    assert context["ti"].xcoms["validation"]["status"] == "failed"
    assert alias_events(context) == []
