"""Train -> register, on real flights with a real MLflow store: lineage, idempotence, nothing-new skips.

No Airflow here: these are the core functions the operators call.
"""

from __future__ import annotations

import json

import pytest

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.errors import ConfigError, DataNotFoundError
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.train import train
from tests.unit.conftest import JAN, World

pytestmark = pytest.mark.unit
RUN = "flights_delay__train/manual__1"


def test_a_version_records_its_lineage_and_a_retry_reuses_it(fresh_world: World) -> None:
    """In a registry of its own, so that the version is the first whatever ran before."""
    world = fresh_world
    cfg, lake, client = world.cfg, world.lake, world.client
    ctx = {"dag_id": "flights_delay__train", "run_id": "manual__1"}
    first = train(cfg, lake, client, run_key=RUN, reason="first", end_ds=JAN[-1], airflow_context=ctx)
    assert first.version == "1" and not first.reused and first.window == JAN
    assert first.metrics["roc_auc"] > 0.75 and first.train_rows + first.test_rows > 4000

    tags = registry.tags_of(client.get_model_version(cfg.registered_model_name, first.version))
    snaps = json.loads(tags[Tag.SNAPSHOTS])
    assert [s.split(":")[0] for s in snaps] == JAN and all(len(s.split(":")[1]) == 16 for s in snaps)
    assert [s.split(":")[1] for s in snaps] == [world.catalog.manifest(ds)["content_hash"][:16] for ds in JAN]
    assert tags[Tag.CONFIG_HASH] == cfg.config_hash and tags[Tag.RUN_ID] == "manual__1"
    assert tags[Tag.REASON] == "first" and tags[Tag.RUN_KEY] == RUN
    assert tags["lib.scikit-learn"].count(".") >= 1 and tags[Tag.CODE_VERSION].startswith("0.1.0")
    assert tags[Tag.HOLDOUT_URI] == world.catalog.holdout_uri(RUN) and lake.exists(tags[Tag.HOLDOUT_URI])
    assert tags[Tag.REFERENCE_URI] == world.catalog.reference_uri(RUN)
    reference = lake.read_parquet(tags[Tag.REFERENCE_URI])
    assert {"prediction", "probability", *cfg.drift_columns} <= set(reference.columns)
    assert float(tags[registry.metric_tag("roc_auc")]) == pytest.approx(first.metrics["roc_auc"], abs=1e-6)

    again = train(cfg, lake, client, run_key=RUN, reason="first", end_ds=JAN[-1])
    assert again.reused and again.version == first.version and again.metrics == first.metrics
    assert len(registry.ModelRegistry(client, cfg.registered_model_name).versions()) == 1


def test_the_champions_own_data_is_not_learnt_again_unless_forced(world: World) -> None:
    champion = world.champion()
    same = train(world.cfg, world.lake, world.client, run_key="t/same", end_ds=JAN[-1])
    assert same.skipped and same.version is None and "force=true" in same.reason
    assert f"champion v{champion}" in same.reason
    forced = train(world.cfg, world.lake, world.client, run_key="t/forced", end_ds=JAN[-1], force=True)
    assert not forced.skipped and forced.version not in (None, champion)


def test_too_little_data_names_the_setting(world: World) -> None:
    strict = world.cfg.model_copy(
        update={"split": world.cfg.split.model_copy(update={"min_training_rows": 10**6})}
    )
    with pytest.raises(DataNotFoundError, match=r"fewer than split.min_training_rows=1000000"):
        train(strict, world.lake, world.client, run_key="t/strict", end_ds=JAN[-1], force=True)
    with pytest.raises(DataNotFoundError, match=r"no validated batches up to 2012-12-31"):
        train(world.cfg, world.lake, world.client, run_key="t/early", end_ds="2012-12-31")


@pytest.mark.parametrize(
    ("end", "problem"),
    [
        ("2013-02-30", r"end_date: '2013-02-30' is not a calendar date \(YYYY-MM-DD\): day is out of range"),
        ("2013-13-01", r"end_date: '2013-13-01' is not a calendar date .*month must be in 1..12"),
        ("2999-01-01", r"end_date: 2999-01-01 is in the future"),
    ],
)
def test_an_impossible_end_date_is_named(world: World, end: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        train(world.cfg, world.lake, world.client, run_key="t/end", end_ds=end)


def test_a_window_without_batches_says_where_the_data_is(world: World) -> None:
    with pytest.raises(
        DataNotFoundError,
        match=r"no validated batches in 2013-03-03..2013-03-04; the newest up to end_date is 2013-01-09",
    ):
        train(world.cfg, world.lake, world.client, run_key="t/gap", end_ds="2013-03-04", window_days=2)


_KILLED_AT = """
import os, signal, sys
import mlflow
from airflow_mlops.core.foundation import tracking
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.model import train as train_mod

cfg_path, lake_root, uri, run_key, end_ds, point = sys.argv[1:]
real = mlflow.register_model

def register_then_die(*args, **kwargs):
    mv = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # the worker dies: no run end, no registered_version tag

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # dies inside the open run, before registering

mlflow.register_model = register_then_die if point == "after" else die
client = tracking.configure(tracking_uri=uri)
train_mod.train(load_pipeline(cfg_path), Lake(lake_root), client, run_key=run_key, end_ds=end_ds, force=True)
"""


def _train_and_die(world: World, run_key: str, point: str) -> None:
    """Train in a real process that is SIGKILLed at ``point`` ('before'/'after' registering)."""
    import signal
    import subprocess
    import sys

    from tests.conftest import PIPELINES

    cmd = [sys.executable, "-c", _KILLED_AT, str(PIPELINES / "flights_delay.yaml"), world.lake.root]
    proc = subprocess.run([*cmd, world.tracking_uri, run_key, JAN[-1], point], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]


def _runs(world: World, run_key: str) -> list[object]:
    exp = world.client.get_experiment_by_name(world.cfg.experiment_name)
    return list(world.client.search_runs([exp.experiment_id], f"tags.`{Tag.RUN_KEY}` = '{run_key}'"))


def test_a_worker_killed_after_registering_is_repaired_by_its_retry_without_a_duplicate(
    world: World,
) -> None:
    key = "t/killed-after-register"
    name = world.cfg.registered_model_name
    _train_and_die(world, key, "after")
    (dead,) = _runs(world, key)
    assert dead.info.status == "RUNNING" and Tag.REGISTERED_VERSION not in dead.data.tags  # type: ignore[attr-defined]
    (orphan,) = world.client.search_model_versions(f"name = '{name}' and tags.`{Tag.RUN_KEY}` = '{key}'")

    retry = train(world.cfg, world.lake, world.client, run_key=key, end_ds=JAN[-1], force=True)
    assert retry.reused and retry.version == str(orphan.version)
    assert retry.metrics["roc_auc"] > 0.75 and retry.window == JAN
    (run,) = _runs(world, key)
    assert run.info.status == "FINISHED" and run.data.tags[Tag.REGISTERED_VERSION] == retry.version  # type: ignore[attr-defined]
    assert "finished by its retry" in run.data.tags[Tag.NOTE]  # type: ignore[attr-defined]
    versions = world.client.search_model_versions(f"name = '{name}' and tags.`{Tag.RUN_KEY}` = '{key}'")
    assert [v.version for v in versions] == [orphan.version]


def test_a_worker_killed_before_registering_leaves_a_failed_run_and_the_retry_registers_once(
    world: World,
) -> None:
    key = "t/killed-before-register"
    name = world.cfg.registered_model_name
    _train_and_die(world, key, "before")
    (dead,) = _runs(world, key)
    assert dead.info.status == "RUNNING"  # type: ignore[attr-defined]

    retry = train(world.cfg, world.lake, world.client, run_key=key, end_ds=JAN[-1], force=True)
    assert not retry.reused and retry.version is not None
    status = {r.info.run_id: r.info.status for r in _runs(world, key)}  # type: ignore[attr-defined]
    assert status == {dead.info.run_id: "FAILED", retry.run_id: "FINISHED"}  # type: ignore[attr-defined]
    versions = world.client.search_model_versions(f"name = '{name}' and tags.`{Tag.RUN_KEY}` = '{key}'")
    assert [str(v.version) for v in versions] == [retry.version]


def test_the_model_declares_the_libraries_that_load_it_at_the_trained_versions(world: World) -> None:
    from importlib.metadata import version

    import mlflow

    champion = world.champion()
    path = mlflow.pyfunc.get_model_dependencies(f"models:/{world.cfg.registered_model_name}/{champion}")
    with open(path) as f:
        lines = set(f.read().split())
    for dist in ("scikit-learn", "skops", "numpy", "mlflow"):
        assert f"{dist}=={version(dist)}" in lines, lines
