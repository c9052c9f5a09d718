"""A promotion killed between recording its decision and moving the alias, then retried.

The dead attempt is a real process, SIGKILLed inside ``MlflowClient.set_registered_model_alias``:
the decision (and ``previous_champion``) is on the candidate, the alias has not moved, nothing says
``promotion.applied``, and the champion lock in the lake is still held by the dead process. The
retry runs here, as the next try of the task would.
"""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
import time

import pytest

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.lock import LakeLock
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.promote import promote, recorded_decision
from airflow_mlops.core.model.train import train
from tests.conftest import PIPELINES
from tests.unit.conftest import JAN, World

pytestmark = pytest.mark.unit

_KILLED_AT = """
import os, signal, sys
from mlflow import MlflowClient
from airflow_mlops.core.foundation import tracking
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.model.promote import promote

cfg_path, lake_root, uri, version = sys.argv[1:5]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # the worker dies as the alias is about to move

MlflowClient.set_registered_model_alias = die
client = tracking.configure(tracking_uri=uri)
promote(load_pipeline(cfg_path), Lake(lake_root), client, version)
"""


def _weak_champion(world: World) -> str:
    """A first champion that a normally trained candidate beats clearly (whatever the tie rule)."""
    params = {**world.cfg.model.params, "max_iter": 2, "learning_rate": 0.05}
    weak = world.cfg.model_copy(update={"model": world.cfg.model.model_copy(update={"params": params})})
    version = train(weak, world.lake, world.client, run_key="t/weak", end_ds=JAN[-1], force=True).version
    assert version is not None
    first = promote(world.cfg, world.lake, world.client, version)
    assert first.promoted and first.champion_version is None, first.reason
    return str(version)


def test_a_promotion_killed_before_the_alias_moves_is_finished_by_its_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = world.cfg.registered_model_name
    client = world.client
    champion = _weak_champion(world)
    candidate = train(
        world.cfg, world.lake, client, run_key="t/candidate", end_ds=JAN[-1], force=True
    ).version
    assert candidate is not None and candidate != champion
    locks = Catalog(world.lake, world.cfg.name).lock_dir(registry.ModelRegistry.LOCK)

    cmd = [sys.executable, "-c", _KILLED_AT, str(PIPELINES / "flights_delay.yaml"), world.lake.root]
    proc = subprocess.run([*cmd, world.tracking_uri, candidate], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]

    # What the dead attempt left: a whole decision, no alias move, no `applied`, a lease never released.
    tags = registry.tags_of(client.get_model_version(name, candidate))
    dead = recorded_decision(world.cfg, tags)
    assert dead is not None and dead.promoted and dead.champion_version == champion, tags
    assert tags[Tag.PREVIOUS_CHAMPION] == champion and Tag.PROMOTION_APPLIED not in tags
    assert str(registry.ModelRegistry(client, name).champion().version) == champion  # type: ignore[union-attr]
    held = max(int(n[:-5]) for n in world.lake.listdir(locks) if n.endswith(".json"))
    assert tags[Tag.PROMOTION_LOCK] == str(held) and f"{held}.released" not in world.lake.listdir(locks)
    lease = world.lake.read_json(f"{locks}/{held}.json")
    assert lease["owner"] == f"promote {name} v{candidate}" and lease["expires"] > time.time() + 60

    # The retry, with a short lock timeout so that a lock the dead process still blocks fails fast.
    monkeypatch.setattr(registry, "LakeLock", functools.partial(LakeLock, timeout=30))
    started = time.monotonic()
    retry = promote(world.cfg, world.lake, client, candidate)
    assert time.monotonic() - started < 30, "the retry waited for the dead holder's lease"

    assert retry == dead, "the recorded decision is returned, not judged again"
    after = registry.tags_of(client.get_model_version(name, candidate))
    assert after[f"{Tag.PROMOTION_PREFIX}decided_at"] == dead.decided_at
    assert after[Tag.PROMOTION_LOCK] == str(held), "the decision's lock number is the dead attempt's"
    assert after[Tag.PREVIOUS_CHAMPION] == champion != candidate
    assert after[Tag.PROMOTION_APPLIED] >= dead.decided_at
    assert str(registry.ModelRegistry(client, name).champion().version) == candidate  # type: ignore[union-attr]
    old = registry.tags_of(client.get_model_version(name, champion))
    assert old[f"{Tag.PROMOTION_PREFIX}promoted"] == "True"
    assert old.get(Tag.PREVIOUS_CHAMPION, "") == "", "the first champion replaced nobody"

    # The retry took the next lease over the dead one and let it go.
    names = world.lake.listdir(locks)
    assert f"{held + 1}.json" in names and f"{held + 1}.released" in names
    taken = json.loads(world.lake.read_bytes(f"{locks}/{held + 1}.json"))
    assert taken["owner"] == f"promote {name} v{candidate}"
    # The lock is free again for the next promotion or rollback.
    with LakeLock(world.lake, locks, "next", timeout=5) as nxt:
        assert nxt.number == held + 2
