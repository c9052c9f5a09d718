"""BatchPredictOperator and the monitor DAG's first task: skip while there is no champion, then score."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airflow_mlops.core.foundation import registry
from airflow_mlops.operators import BatchPredictOperator
from airflow_mlops.operators.predict import intervals_to_score
from tests.unit.conftest import JAN, JUL, World
from tests.unit.operators.conftest import make_context

pytestmark = pytest.mark.unit


def _context(*days: str, params: dict | None = None, conf: dict | None = None) -> dict:
    events = {"flights_delay.validated": [SimpleNamespace(extra={"ds": d}) for d in days]}
    return make_context(
        "flights_delay__monitor", triggering_asset_events=events, params=params or {}, conf=conf
    )


def test_without_a_champion_both_skip(fresh_world: World, context) -> None:
    """In a registry of its own: the module's other tests make a champion in theirs, in any order."""
    world = fresh_world
    assert registry.ModelRegistry(world.client, world.cfg.registered_model_name).champion() is None
    with pytest.raises(AirflowSkipException, match="no version has the 'champion' alias"):
        BatchPredictOperator(task_id="predict", pipeline="flights_delay", ds=JUL).execute(context)
    with pytest.raises(AirflowSkipException, match=r"\['2013-07-08'\] not scored"):
        intervals_to_score(world.cfg, _context(JUL))


def test_the_champion_scores_what_the_events_and_params_ask_for(world: World, context) -> None:
    version = world.champion()
    res = BatchPredictOperator(task_id="predict", pipeline="flights_delay", ds=JUL).execute(context)
    assert res["model_version"] == version and world.lake.exists(res["predictions_uri"])
    assert intervals_to_score(world.cfg, _context(JAN[0], JUL, params={"ds": [JAN[1]]})) == [
        JAN[0],
        JAN[1],
        JUL,
    ]
    with pytest.raises(ValueError, match="no interval to score"):
        intervals_to_score(world.cfg, _context(params={"ds": []}))


def test_an_unknown_param_fails_the_run_before_anything_is_scored(world: World) -> None:
    with pytest.raises(AirflowFailException, match=r"unknown param\(s\) \['dss'\].*accepts \['ds'\]"):
        intervals_to_score(
            world.cfg, make_context("flights_delay__monitor", conf={"dss": [JUL]}, declared=("ds",))
        )
