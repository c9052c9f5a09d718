"""BatchPredictOperator and the monitor DAG's first task: skip while there is no champion, then score."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from airflow_mlops.operators import BatchPredictOperator
from airflow_mlops.operators.predict import intervals_to_score
from tests.unit.conftest import JAN, JUL, World

pytestmark = pytest.mark.unit


def _events(*days: str) -> dict[str, list[SimpleNamespace]]:
    return {"flights_delay.validated": [SimpleNamespace(extra={"ds": d}) for d in days]}


def test_without_a_champion_both_skip(world: World, context) -> None:
    with pytest.raises(AirflowSkipException, match="no version has the 'champion' alias"):
        BatchPredictOperator(task_id="predict", pipeline="flights_delay", ds=JUL).execute(context)
    with pytest.raises(AirflowSkipException, match=r"\['2013-07-08'\] not scored"):
        intervals_to_score(world.cfg, {}, _events(JUL))


def test_the_champion_scores_what_the_events_and_params_ask_for(world: World, context) -> None:
    version = world.champion()
    res = BatchPredictOperator(task_id="predict", pipeline="flights_delay", ds=JUL).execute(context)
    assert res["model_version"] == version and world.lake.exists(res["predictions_uri"])
    assert intervals_to_score(world.cfg, {"ds": [JAN[1]]}, _events(JAN[0], JUL)) == [JAN[0], JAN[1], JUL]
    with pytest.raises(ValueError, match="no interval to score"):
        intervals_to_score(world.cfg, {"ds": []}, {})
