"""Train, search and promote fail at once (no retry) when a file they need is gone or a model
cannot be trusted: the same input would fail the same way on every retry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.errors import DataNotFoundError, UntrustedModelError
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.train import train
from airflow_mlops.operators import PlanSearchOperator, PromoteModelOperator, TrainModelOperator
from tests.conftest import PIPELINES
from tests.unit.conftest import JAN, World, world_copy
from tests.unit.operators.conftest import make_context

pytestmark = pytest.mark.unit
#: A window that ends in January, so it holds the snapshot the fixture deletes.
PARAMS = {"reason": "r", "window_days": "", "window_end": JAN[-1], "force": "true"}


@pytest.fixture(scope="module")
def gone(flights_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    """A copy of the flights world with a version trained on it, then one January snapshot deleted
    (its manifest and validation kept: the catalog still lists it as validated)."""
    with world_copy(flights_home, tmp_path_factory, "gone") as world:
        cfg = world.cfg
        version = train(cfg, world.lake, world.client, run_key="gone/v1", end_ds=JAN[-1]).version
        assert version is not None
        data = Path(world.lake._p(world.catalog.snapshot_uri(JAN[2])))
        data.unlink()
        yield world, version


def _failed_on(excinfo: pytest.ExceptionInfo[AirflowFailException], kind: type[Exception], what: str) -> None:
    cause = excinfo.value.__cause__
    assert isinstance(cause, kind), repr(cause)
    assert what in str(cause) and str(cause) in str(excinfo.value)  # the original message is in the log


def test_train_with_a_snapshot_gone_fails_at_once(gone: tuple[World, str]) -> None:
    del gone  # the world it made is what the operator reads
    with pytest.raises(AirflowFailException, match=r"DataNotFoundError \(permanent, not retried\)") as got:
        TrainModelOperator(task_id="train", pipeline="flights_delay", **PARAMS).execute(make_context())
    _failed_on(got, DataNotFoundError, f"ds={JAN[2]}/data-")


def test_a_search_with_a_snapshot_gone_fails_at_once(
    gone: tuple[World, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = yaml.safe_load((PIPELINES / "flights_delay.yaml").read_text())
    d["model"] = {
        "search": {
            "candidates": [{"estimator": "sklearn.linear_model.LogisticRegression", "params": {"C": [1.0]}}],
            "trials": 1,
            "folds": 2,
        },
        "max_categories": 40,
    }
    (tmp_path / "flights_delay.yaml").write_text(yaml.safe_dump(d))
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path))
    op = PlanSearchOperator(
        task_id="plan", pipeline="flights_delay", window_days="", window_end=JAN[-1], force="true"
    )
    with pytest.raises(AirflowFailException, match=r"DataNotFoundError \(permanent, not retried\)") as got:
        op.execute(make_context())
    _failed_on(got, DataNotFoundError, f"ds={JAN[2]}/data-")


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
        _failed_on(got, DataNotFoundError, "holdout.parquet")
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
        _failed_on(got, UntrustedModelError, f"{name} v{version}")
    finally:
        client.set_model_version_tag(name, version, Tag.PIPELINE, world.cfg.name)
    assert registry.ModelRegistry(client, name).champion() is None
