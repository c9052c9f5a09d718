"""DriftReportOperator: the drift Asset fires only past the threshold, with what drifted."""

from __future__ import annotations

import pytest
from airflow.sdk import Asset, AssetAlias

from airflow_mlops.core.monitor.predict import score_batch
from airflow_mlops.operators import DriftReportOperator
from tests.unit.conftest import JAN, JUL, World
from tests.unit.operators.conftest import alias_events, make_context

pytestmark = pytest.mark.unit
ASSET = Asset(name="flights_delay.drift", group="mlops")
ALIAS = AssetAlias(name="flights_delay.drift-alias")


def _run(ds: str) -> tuple[dict, dict]:
    context = make_context(dag_id="flights_delay__monitor", run_id="manual__m")
    op = DriftReportOperator(
        task_id="drift_report", pipeline="flights_delay", ds=ds, asset=ASSET, outlets=[ALIAS]
    )
    return op.execute(context), context


def test_summer_drift_fires_the_asset_and_a_january_day_does_not(world: World) -> None:
    world.champion()
    for ds in (JAN[-1], JUL):
        score_batch(world.cfg, world.lake, world.client, ds)
    jul, jul_context = _run(JUL)
    assert jul["drift_detected"] and "dep_delay" in jul["drifted_columns"]
    keys = ("ds", "drift_share", "threshold", "drifted_columns", "html_uri", "model_version")
    extra = {
        **{k: jul[k] for k in keys},
        "fired": ["covariate_drift"],
        "retrain_reason": jul["retrain_reason"],
    }
    assert alias_events(jul_context) == [(ALIAS.name, ASSET.name, extra)]
    assert jul["retrain_reason"].startswith(f"drift on {JUL}: ") and "dep_delay" in jul["retrain_reason"]
    jan, jan_context = _run(JAN[-1])
    assert not jan["drift_detected"] and alias_events(jan_context) == []
