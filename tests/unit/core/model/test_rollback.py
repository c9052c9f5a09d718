"""``rollback()`` on its own, against a real registry: what it refuses, and what a rollback records.

Every refusal leaves the alias where it was and writes no ``rollback.*`` tag.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.errors import ConfigError, DataNotFoundError, NoChampionError
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.promote import promote
from airflow_mlops.core.model.rollback import rollback
from airflow_mlops.core.model.train import train
from tests.unit.conftest import JAN, World, weakened

pytestmark = pytest.mark.unit
ROLES = ("rolled_back", "restored")


def _train(world: World, key: str, weak: bool = False) -> str:
    cfg = weakened(world.cfg) if weak else world.cfg  # the normal model beats the weak one clearly
    version = train(cfg, world.lake, world.client, run_key=key, end_ds=JAN[-1], force=True).version
    assert version is not None
    return str(version)


def _champion(world: World) -> str | None:
    champ = registry.ModelRegistry(world.client, world.cfg.registered_model_name).champion()
    return None if champ is None else str(champ.version)


def _rollback_tags(world: World) -> dict[str, dict[str, Any]]:
    return {
        str(v.version): {k: x for k, x in registry.tags_of(v).items() if k.startswith(Tag.ROLLBACK_PREFIX)}
        for v in registry.ModelRegistry(world.client, world.cfg.registered_model_name).versions()
    }


def _refused(world: World, error: type[Exception], match: str, to: str | None = None) -> None:
    """``rollback`` raises ``error`` and changes nothing."""
    before, tags = _champion(world), _rollback_tags(world)
    with pytest.raises(error, match=match):
        rollback(world.cfg, world.lake, world.client, reason="test", by="tester", to=to)
    assert _champion(world) == before and _rollback_tags(world) == tags


def test_without_a_champion_there_is_nothing_to_roll_back(fresh_world: World) -> None:
    """In a registry of its own: the module's other tests leave a champion in theirs, in any order."""
    assert _champion(fresh_world) is None
    _refused(fresh_world, NoChampionError, r"flights_delay: no champion to roll back")
    _train(fresh_world, "t/unjudged-0")  # a registered model with versions, but still no alias
    assert registry.ModelRegistry(fresh_world.client, fresh_world.cfg.registered_model_name).versions()
    _refused(fresh_world, NoChampionError, r"no champion to roll back")


@pytest.fixture(scope="module")
def versions(world: World) -> dict[str, str]:
    """first: the first champion (replaced nobody); second: the champion now, which replaced first;
    unjudged: never judged; refused: judged and refused."""
    first = _train(world, "t/first", weak=True)
    assert promote(world.cfg, world.lake, world.client, first).promoted
    unjudged = _train(world, "t/unjudged")
    refused = _train(world, "t/refused")
    strict = world.cfg.model_copy(update={"gate": world.cfg.gate.model_copy(update={"minimum": 0.9999})})
    assert not promote(strict, world.lake, world.client, refused).promoted
    out = {"first": first, "unjudged": unjudged, "refused": refused}
    # first is the champion and replaced nobody: the one state where `--to` must be named
    _refused(
        world,
        DataNotFoundError,
        rf"flights_delay v{first}: no previous champion recorded; name a version with --to",
    )
    second = _train(world, "t/second")
    decision = promote(world.cfg, world.lake, world.client, second)
    assert decision.promoted and decision.champion_version == first, decision.reason
    return {**out, "second": second}


def test_a_champion_that_replaced_nobody_needs_to(world: World, versions: dict[str, str]) -> None:
    """Checked in the fixture, while the first champion held the alias; here the state it left."""
    first = registry.tags_of(
        world.client.get_model_version(world.cfg.registered_model_name, versions["first"])
    )
    assert first.get(Tag.PREVIOUS_CHAMPION, "") == "" and first[f"{Tag.PROMOTION_PREFIX}promoted"] == "True"
    assert _champion(world) == versions["second"]


@pytest.mark.parametrize("kind", ["unjudged", "refused"])
def test_a_version_that_never_passed_the_gate_cannot_be_the_target(
    world: World, versions: dict[str, str], kind: str
) -> None:
    v = versions[kind]
    _refused(
        world,
        ConfigError,
        rf"flights_delay v{v}: was never champion \(it never passed the gate\), so it cannot be restored",
        to=v,
    )


def test_the_champion_itself_cannot_be_the_target(world: World, versions: dict[str, str]) -> None:
    v = versions["second"]
    _refused(world, ConfigError, rf"flights_delay: v{v} is already the champion", to=v)


def test_a_rollback_moves_the_alias_and_records_it_on_both_versions(
    world: World, versions: dict[str, str]
) -> None:
    name = world.cfg.registered_model_name
    current, previous = versions["second"], versions["first"]
    assert _champion(world) == current
    done = rollback(world.cfg, world.lake, world.client, reason="bad predictions in July", by="alice")
    assert (done.from_version, done.to_version) == (current, previous)
    assert (done.reason, done.by, done.pipeline, done.model_name) == (
        "bad predictions in July",
        "alice",
        "flights_delay",
        name,
    )
    assert _champion(world) == previous

    tags = _rollback_tags(world)
    locks = set()
    for version, role, other in ((current, "rolled_back", previous), (previous, "restored", current)):
        p = f"{Tag.ROLLBACK_PREFIX}{role}."
        got = tags[version]
        assert set(got) == {f"{p}{k}" for k in ("reason", "by", "at", "lock", "other")}, got
        assert got[f"{p}reason"] == "bad predictions in July" and got[f"{p}by"] == "alice"
        assert got[f"{p}at"] == done.at and got[f"{p}other"] == other
        locks.add(got[f"{p}lock"])
    (lock,) = locks
    decided = registry.tags_of(world.client.get_model_version(name, current))[Tag.PROMOTION_LOCK]
    assert int(lock) > int(decided), "the rollback's lock comes after the promotion it undoes"
    for other in ("unjudged", "refused"):
        assert tags[versions[other]] == {}

    # The restored champion replaced nobody: rolling back again needs `to`, and `to` may name the
    # version just rolled back, since it passed the gate once.
    _refused(world, DataNotFoundError, r"name a version with --to")
    again = rollback(world.cfg, world.lake, world.client, reason="false alarm", by="bob", to=current)
    assert (again.from_version, again.to_version) == (previous, current) and _champion(world) == current
    restored = registry.tags_of(world.client.get_model_version(name, current))
    assert restored[f"{Tag.ROLLBACK_PREFIX}restored.by"] == "bob"
    assert restored[f"{Tag.ROLLBACK_PREFIX}rolled_back.by"] == "alice", "the earlier record stays"
