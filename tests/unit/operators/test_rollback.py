"""RollbackOperator: the champion goes back, recorded with the user who triggered the run; bad input
fails the task at once; the champion Asset tells the UI."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.promote import promote
from airflow_mlops.core.model.train import train
from airflow_mlops.operators import RollbackOperator
from tests.unit.conftest import JAN, World
from tests.unit.operators.conftest import make_context

pytestmark = pytest.mark.unit
ASSET = Asset(name="flights_delay.champion", group="mlops")
DECLARED = ("reason", "to_version")


def _rollback(reason: str, to: str | None, user: str | None) -> tuple[dict, dict]:
    context = make_context(dag_id="flights_delay__rollback", declared=DECLARED)
    context["dag_run"] = SimpleNamespace(**vars(context["dag_run"]), triggering_user_name=user)
    op = RollbackOperator(
        task_id="rollback",
        pipeline="flights_delay",
        reason=reason,
        to_version=to,
        asset=ASSET,
        outlets=[ASSET],
    )
    op.pre_execute(context)
    return op.execute(context), context


def test_rollback_from_a_dag_run(world: World) -> None:
    cfg, lake, client = world.cfg, world.lake, world.client
    name = cfg.registered_model_name
    first = world.champion()
    six = train(cfg, lake, client, run_key="r/6", end_ds=JAN[-1], window_days=6, force=True).version
    assert promote(cfg, lake, client, six).promoted

    done, context = _rollback(
        "ops saw bad predictions", "", "alice"
    )  # the DAG's template renders "" for none
    assert (done["from_version"], done["to_version"], done["by"]) == (six, first, "alice")
    assert str(registry.ModelRegistry(client, name).champion().version) == first
    tags = registry.tags_of(client.get_model_version(name, six))
    assert tags[f"{Tag.ROLLBACK_PREFIX}rolled_back.reason"] == "ops saw bad predictions"
    event = context["outlet_events"][ASSET].extra
    assert event == {"version": first, "previous": six, "reason": "ops saw bad predictions", "rollback": True}

    # Nothing to go back to: the task fails without retries, naming why; the champion stays.
    with pytest.raises(AirflowFailException, match=rf"{name} v{first}: no previous champion recorded"):
        _rollback("again", None, None)
    # A run triggered without a user (the scheduler, a test) is recorded as "airflow".
    done, _ = _rollback("restore the six-day model", six, None)
    assert (done["to_version"], done["by"]) == (six, "airflow")
    with pytest.raises(AirflowFailException, match=rf"{name}: v{six} is already the champion"):
        _rollback("noop", six, "alice")
    assert str(registry.ModelRegistry(client, name).champion().version) == six
