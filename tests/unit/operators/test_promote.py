"""PromoteModelOperator: the decision reaches XCom; the champion Asset fires only on a promotion."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Asset, AssetAlias

from airflow_mlops.core.model.train import train
from airflow_mlops.operators import PromoteModelOperator
from tests.unit.conftest import JAN, World, weakened
from tests.unit.operators.conftest import alias_events, make_context

pytestmark = pytest.mark.unit
ASSET = Asset(name="flights_delay.champion", group="mlops")
ALIAS = AssetAlias(name="flights_delay.champion-alias")


def _promote(version: str) -> tuple[dict, dict]:
    context = make_context()
    op = PromoteModelOperator(
        task_id="promote", pipeline="flights_delay", version=version, asset=ASSET, outlets=[ALIAS]
    )
    return op.execute(context), context


def test_a_promotion_fires_the_champion_asset_and_a_refusal_does_not(world: World) -> None:
    first = train(world.cfg, world.lake, world.client, run_key="o/1", end_ds=JAN[-1]).version
    decision, context = _promote(first)
    assert decision["promoted"] and context["ti"].xcoms["decision"] == decision
    extra = {"version": first, "reason": decision["reason"]}
    assert alias_events(context) == [(ALIAS.name, ASSET.name, extra)], "no previous champion: left out"
    # A weak model held out January 5th, which the champion was fit on: that day is left out, and on
    # the rows neither saw (January 9th, July) the weak model is worse.
    early = train(weakened(world.cfg), world.lake, world.client, run_key="o/2", end_ds=JAN[3], window_days=4)
    decision, context = _promote(str(early.version))
    assert not decision["promoted"] and "worse by" in decision["reason"], decision["reason"]
    assert JAN[3] in json.loads(decision["excluded_intervals"]), decision["excluded_intervals"]
    assert f"were left out: champion v{first} was fit on them" in decision["reason"]
    assert context["ti"].xcoms["decision"] == decision and alias_events(context) == []
