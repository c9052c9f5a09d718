"""Promotion fails at once when the holdout is gone or the version is not this pipeline's: no retry changes either."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.errors import DataNotFoundError, UntrustedModelError
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.operators import PromoteModelOperator
from tests.unit.conftest import World
from tests.unit.operators.conftest import failed_on, make_context

pytestmark = pytest.mark.unit


def test_promote_with_the_holdout_gone_fails_at_once(gone: tuple[World, str]) -> None:
    world, version = gone
    mv = world.client.get_model_version(world.cfg.registered_model_name, version)
    holdout = Path(world.lake._p(registry.tags_of(mv)[Tag.HOLDOUT_URI]))
    moved = holdout.with_name("moved-away.parquet")
    holdout.rename(moved)
    try:
        with pytest.raises(AirflowFailException, match=r"DataNotFoundError \(permanent") as got:
            PromoteModelOperator(task_id="promote", pipeline="flights_delay", version=version).execute(
                make_context()
            )
        failed_on(got, DataNotFoundError, "holdout.parquet")
    finally:
        moved.rename(holdout)
    assert registry.ModelRegistry(world.client, world.cfg.registered_model_name).champion() is None


def test_promote_of_a_version_this_pipeline_did_not_make_fails_at_once(gone: tuple[World, str]) -> None:
    world, version = gone
    name, client = world.cfg.registered_model_name, world.client
    client.set_model_version_tag(name, version, Tag.PIPELINE, "someone_else")
    try:
        with pytest.raises(AirflowFailException, match=r"UntrustedModelError \(permanent") as got:
            PromoteModelOperator(task_id="promote", pipeline="flights_delay", version=version).execute(
                make_context()
            )
        failed_on(got, UntrustedModelError, f"{name} v{version}")
    finally:
        client.set_model_version_tag(name, version, Tag.PIPELINE, world.cfg.name)
    assert registry.ModelRegistry(client, name).champion() is None
