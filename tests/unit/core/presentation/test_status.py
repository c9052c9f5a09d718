"""One pipeline's state as the CLI prints it and the view shows it, read from the lake and the
registry: nothing before a batch or a model exists, and every version's lineage after."""

from __future__ import annotations

import json

import pytest

from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.presentation.status import pipeline_detail, pipeline_status
from tests.unit.conftest import World

pytestmark = pytest.mark.unit


def test_a_pipeline_without_a_model_says_so(fresh_world: World) -> None:
    world = fresh_world  # an empty registry, whichever test of this module ran first
    status = json.loads(json.dumps(pipeline_status(world.cfg, world.lake, world.client)))
    assert status["pipeline"] == "flights_delay" and status["champion"] is None
    assert status["batches"] > 0 and status["last_ingest"]["ds"] == world.catalog.batches()[-1]
    assert status["decisions"] == 0 and status["last_decision"] is None


def test_the_champion_and_its_lineage_are_shown(world: World) -> None:
    version = world.champion()
    status = pipeline_status(world.cfg, world.lake, world.client)
    champ = status["champion"]
    assert champ["version"] == version and champ["metric"] == "roc_auc" and 0.5 < champ["score"] <= 1
    assert status["decisions"] == 1 and status["last_decision"]["promoted"] is True
    detail = json.loads(json.dumps(pipeline_detail(world.cfg, world.lake, world.client)))
    (shown,) = [v for v in detail["versions"] if v["version"] == version]
    assert shown["champion"] and shown["decision"]["promoted"]
    tags = world.client.get_model_version(world.cfg.registered_model_name, version).tags
    assert shown["lineage"]["window"] == json.loads(tags[Tag.WINDOW])
    assert shown["lineage"]["config_hash"] == world.cfg.config_hash
    assert {b["ds"] for b in detail["batches"]} == set(world.catalog.batches())
