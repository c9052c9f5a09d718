"""TrainModelOperator: Params become arguments, a drift event becomes the reason, nothing new is a skip."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.operators import PromoteModelOperator, TrainModelOperator
from airflow_mlops.operators.train import describe_trigger
from tests.unit.conftest import JAN, World
from tests.unit.operators.conftest import make_context

pytestmark = pytest.mark.unit


def test_rendered_params_reach_training(world: World) -> None:
    params = {"reason": "unit: params", "training_window_days": 5, "end_date": JAN[-2], "force": False}
    context = make_context(run_id="manual__p", params=params)
    op = TrainModelOperator(task_id="train", pipeline="flights_delay")
    op.render_template_fields(context)
    res = op.execute(context)
    assert res["window"] == JAN[2:-1] and res["reason"] == "unit: params"
    assert context["ti"].xcoms["training"] == res
    tags = registry.tags_of(world.client.get_model_version("flights_delay", res["version"]))
    assert tags[Tag.RUN_KEY] == "flights_delay__train/manual__p" and tags[Tag.RUN_ID] == "manual__p"


def test_an_asset_triggered_run_without_a_data_interval_renders(world: World) -> None:
    context = make_context(run_id="asset_triggered__1", params={"reason": "r", "force": False})
    del context["data_interval_start"]
    for op in (
        TrainModelOperator(task_id="train", pipeline="flights_delay"),
        PromoteModelOperator(task_id="promote", pipeline="flights_delay", version="1"),
    ):
        op.render_template_fields(context)
        assert op.ds is None and op.pipeline == "flights_delay"


def test_nothing_new_to_learn_is_a_skip_with_the_reason(world: World) -> None:
    world.champion()
    params = {"reason": "again", "training_window_days": 14, "end_date": None, "force": False}
    context = make_context(run_id="manual__again", params=params)
    op = TrainModelOperator(task_id="train", pipeline="flights_delay", window_end=JAN[-1])
    op.render_template_fields(context)
    with pytest.raises(
        AirflowSkipException, match=r"not retrained: champion v\d+ was trained on exactly these snapshots"
    ):
        op.execute(context)
    assert context["ti"].xcoms["training"]["skipped"] is True


def test_a_misspelt_param_fails_before_training(world: World) -> None:
    """However the run was made (CLI, backfill, dags test), not only through the REST API."""
    context = make_context(run_id="manual__typo", conf={"training_windw_days": 3}, params={"reason": "r"})
    op = TrainModelOperator(task_id="train", pipeline="flights_delay")
    with pytest.raises(AirflowFailException, match=r"unknown param\(s\) \['training_windw_days'\]"):
        op.pre_execute(context)
    assert "config" not in op.__dict__, "nothing was loaded"


def test_a_drift_event_is_the_reason() -> None:
    event = SimpleNamespace(extra={"ds": "2013-07-08", "drift_share": 0.1667, "threshold": 0.15})
    context = make_context(triggering_asset_events={"flights_delay.drift": [event]})
    assert describe_trigger(context, "scheduled") == (
        "drift on 2013-07-08: 17% of monitored columns drifted (threshold 15%)"
    )
    assert describe_trigger(make_context(), "by hand") == "by hand"


def test_a_fired_signal_is_the_reason() -> None:
    """A drift event asked for by another signal (core/monitor/signals.py) gives its own words."""
    reason = "prior_shift on 2024-03-14: PSI 0.665 >= 0.2"
    event = SimpleNamespace(extra={"ds": "2024-03-14", "drift_share": 0.0, "retrain_reason": reason})
    context = make_context(triggering_asset_events={"credit_late.drift": [event]})
    assert describe_trigger(context, "scheduled") == reason
