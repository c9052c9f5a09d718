"""The gate: never a worse model, the minimum always applies, reasons in words; then against a real registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.promote import gate, history, promote, recorded_decision
from airflow_mlops.core.model.train import train
from tests.conftest import ROOT
from tests.unit.conftest import JAN, World, weakened

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(home: Path):
    return load_pipeline(ROOT / "include" / "pipelines" / "flights_delay.yaml")  # roc_auc >= 0.75


@pytest.fixture
def reg(home: Path):
    return load_pipeline(ROOT / "include" / "pipelines" / "diabetes_progression.yaml")  # r2 >= 0.2


def test_first_model_needs_the_minimum(cfg) -> None:
    assert gate(cfg, 0.80, None, None, "on its 500 held-out rows") == (
        True,
        "first model: roc_auc 0.8000 meets the absolute minimum 0.75 on its 500 held-out rows",
    )
    ok, reason = gate(cfg, 0.70, None, None)
    assert not ok and "misses the absolute minimum 0.75" in reason


def test_never_a_worse_model(cfg) -> None:
    ok, reason = gate(cfg, 0.85, 0.86, "3")
    assert not ok and "vs champion v3 0.8600" in reason and "worse by 0.0100" in reason
    ok, reason = gate(cfg, 0.87, 0.86, "3")
    assert ok and "better by 0.0100" in reason


def test_a_tie_keeps_the_champion(cfg, reg) -> None:
    """Strictly better or nothing: with min_improvement 0 (the shipped setting) a tie is refused."""
    assert cfg.gate.min_improvement == 0.0
    ok, reason = gate(cfg, 0.86, 0.86, "3")
    assert not ok and "ties the champion" in reason and "strictly better" in reason, reason
    rmse = reg.model_copy(update={"gate": reg.gate.model_copy(update={"metric": "rmse", "minimum": 60.0})})
    ok, reason = gate(rmse, 55.0, 55.0, "1")
    assert not ok and "ties the champion" in reason
    strict = cfg.model_copy(update={"gate": cfg.gate.model_copy(update={"min_improvement": 0.01})})
    assert not gate(strict, 0.86, 0.86, "3")[0]
    assert gate(cfg, 0.8601, 0.86, "3")[0], "the smallest real gain is enough when none is required"


def test_better_but_below_minimum_is_rejected(cfg) -> None:
    ok, reason = gate(cfg, 0.74, 0.60, "1")
    assert not ok and "misses the absolute minimum" in reason


def test_min_improvement(cfg) -> None:
    strict = cfg.model_copy(update={"gate": cfg.gate.model_copy(update={"min_improvement": 0.02})})
    ok, reason = gate(strict, 0.87, 0.86, "2")
    assert not ok and "improvement 0.0100 is below the required 0.02" in reason
    assert gate(strict, 0.89, 0.86, "2")[0]


def test_lower_is_better_metric(reg) -> None:
    rmse = reg.model_copy(update={"gate": reg.gate.model_copy(update={"metric": "rmse", "minimum": 60.0})})
    assert gate(rmse, 55.0, 58.0, "1")[0]
    ok, reason = gate(rmse, 59.0, 58.0, "1")
    assert not ok and "worse by 1.0000" in reason
    ok, reason = gate(rmse, 61.0, None, None)
    assert not ok and "misses the absolute maximum 60.0" in reason


def test_missing_candidate_score_is_rejected(cfg) -> None:
    ok, reason = gate(cfg, None, 0.8, "1")
    assert not ok and "could not be computed" in reason
    ok, reason = gate(cfg, float("nan"), 0.8, "1")
    assert not ok and "could not be computed for the candidate" in reason
    ok, reason = gate(cfg, float("nan"), None, None)
    assert not ok and "first model" not in reason


@pytest.mark.parametrize("champion", [float("nan"), None], ids=["nan", "missing"])
def test_a_champion_without_a_score_is_a_refusal_not_a_first_model(cfg, reg, champion) -> None:
    """A NaN gave "better by nan" and a promotion; a missing score read as "first model"."""
    ok, reason = gate(cfg, 0.95, champion, "3")
    assert not ok and "roc_auc of champion v3 could not be computed" in reason, reason
    assert "first model" not in reason and "better by" not in reason
    rmse = reg.model_copy(update={"gate": reg.gate.model_copy(update={"metric": "rmse", "minimum": 60.0})})
    ok, reason = gate(rmse, 50.0, champion, "2")
    assert not ok and "champion v2 could not be computed" in reason


def test_a_gain_exactly_at_min_improvement_is_enough(cfg, reg) -> None:
    """ "By at least": 0.83 - 0.81 is 0.0199999... in floating point, and still passes 0.02."""
    assert 0.83 - 0.81 < 0.02
    strict = cfg.model_copy(update={"gate": cfg.gate.model_copy(update={"min_improvement": 0.02})})
    ok, reason = gate(strict, 0.83, 0.81, "4")
    assert ok and "better by 0.0200 (required 0.02)" in reason, reason
    assert not gate(strict, 0.83 - 1e-9, 0.81, "4")[0], "a billionth short is short"
    assert 55.3 - 55.0 < 0.3
    rmse = reg.model_copy(
        update={
            "gate": reg.gate.model_copy(update={"metric": "rmse", "minimum": 60.0, "min_improvement": 0.3})
        }
    )
    assert gate(rmse, 55.0, 55.3, "1")[0], "lower is better: 0.3 below the champion is enough"


def test_with_no_required_improvement_equal_scores_within_the_tolerance_are_a_tie(cfg) -> None:
    assert cfg.gate.min_improvement == 0.0
    for gain in (0.0, 1e-13, -1e-13, 1e-12):
        ok, reason = gate(cfg, 0.86 + gain, 0.86, "3")
        assert not ok and "ties the champion" in reason, (gain, reason)
    assert gate(cfg, 0.86 + 1e-9, 0.86, "3")[0], "beyond the tolerance a gain is a gain"


# --- against a real registry ----------------------------------------------------------------------
def test_the_gate_against_the_registry(world: World) -> None:
    cfg, lake, client = world.cfg, world.lake, world.client
    name = cfg.registered_model_name
    first = train(weakened(cfg), lake, client, run_key="p/1", end_ds=JAN[-1]).version
    d1 = promote(cfg, lake, client, first)
    assert d1.promoted and d1.champion_version is None and "first model" in d1.reason
    assert str(registry.ModelRegistry(client, name).champion().version) == first
    assert promote(cfg, lake, client, first) == d1, "a retried promotion returns the recorded decision"

    # A candidate that misses the absolute minimum never becomes champion.
    strict = cfg.model_copy(update={"gate": cfg.gate.model_copy(update={"minimum": 0.999})})
    small = train(strict, lake, client, run_key="p/2", end_ds=JAN[-1], window_days=4).version
    d2 = promote(strict, lake, client, small)
    assert not d2.promoted and "misses the absolute minimum 0.999" in d2.reason
    assert str(registry.ModelRegistry(client, name).champion().version) == first

    # The shipped model on six days against the weak one on eight, on rows neither was fit on.
    six = train(cfg, lake, client, run_key="p/3", end_ds=JAN[-1], force=True, window_days=6).version
    d3 = promote(cfg, lake, client, six)
    assert d3.champion_version == first and d3.champion_score is not None
    assert d3.promoted and "that neither model was fit on" in d3.reason, d3.reason
    champ = registry.ModelRegistry(client, name).champion()
    assert str(champ.version) == six and registry.tags_of(champ)[Tag.PREVIOUS_CHAMPION] == first
    assert [d.candidate_version for d in history(cfg, client)] == [six, small, first]

    # A forced retrain on the champion's own window is its twin: a tie, refused, champion unchanged.
    twin = train(cfg, lake, client, run_key="p/4", end_ds=JAN[-1], force=True, window_days=6).version
    d4 = promote(cfg, lake, client, twin)
    assert d4.candidate_score == d4.champion_score, "fixed seeds: the same data gives the same model"
    assert not d4.promoted and "ties the champion" in d4.reason, d4.reason
    assert str(registry.ModelRegistry(client, name).champion().version) == six


# --- promotions and a rollback at once, from separate processes ------------------------------------
def _race_worker(home: str, tracking_uri: str, op: str, version: str, folder: str) -> dict[str, Any]:
    """One contender: ready once its imports are done, then waits for the starting gun."""
    import os
    import time

    os.environ["AIRFLOW_MLOPS_HOME"] = home
    from airflow_mlops.core.foundation import tracking as tr
    from airflow_mlops.core.foundation.config import load_pipeline as load
    from airflow_mlops.core.foundation.lake import Lake as L
    from airflow_mlops.core.model.promote import promote as prom
    from airflow_mlops.core.model.rollback import rollback as back

    cfg = load(ROOT / "include" / "pipelines" / "flights_delay.yaml")
    lake, client = L(Path(home, "lake").as_uri()), tr.configure(tracking_uri=tracking_uri)
    Path(folder, f"ready-{op}-{version}").touch()
    while not Path(folder, "go").exists():
        time.sleep(0.005)
    try:
        if op == "promote":
            return {"op": op, "version": version, "promoted": prom(cfg, lake, client, version).promoted}
        done = back(cfg, lake, client, reason="race", by="test")
        return {"op": op, "from": done.from_version, "to": done.to_version}
    except Exception as e:  # an outcome like any other: recorded, and checked below
        return {"op": op, "version": version, "error": f"{type(e).__name__}: {e}"}


def test_two_promotions_and_a_rollback_at_once_stay_in_order(world: World, tmp_path: Path) -> None:
    import multiprocessing
    import time

    # A registry of its own, so that the replay below sees every move from the first promotion on,
    # and a deliberately weak first champion that the candidates beat whatever the tie rule.
    world = World(world.home, world.cfg, world.lake, f"sqlite:///{tmp_path / 'race-mlflow' / 'mlflow.db'}")
    cfg, lake, client = world.cfg, world.lake, world.client
    name = cfg.registered_model_name
    first = train(weakened(cfg), lake, client, run_key="race/weak", end_ds=JAN[-1], force=True).version
    assert first is not None and promote(cfg, lake, client, first).promoted
    good = train(cfg, lake, client, run_key="race/6", end_ds=JAN[-1], window_days=6, force=True).version
    other = train(cfg, lake, client, run_key="race/7", end_ds=JAN[-1], window_days=7, force=True).version
    # Deliberately worse: the weak model on two early days, judged on rows no champion saw.
    worse = train(weakened(cfg), lake, client, run_key="race/bad", end_ds=JAN[1], window_days=2).version
    assert promote(cfg, lake, client, good).promoted, "before the race: a champion with a predecessor"
    jobs = [("promote", other), ("promote", worse), ("rollback", "")]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(len(jobs)) as pool:
        pending = pool.starmap_async(
            _race_worker, [(str(world.home), world.tracking_uri, op, v, str(tmp_path)) for op, v in jobs]
        )
        deadline = time.time() + 120
        while len(list(tmp_path.glob("ready-*"))) < len(jobs) and time.time() < deadline:
            time.sleep(0.05)
        (tmp_path / "go").touch()
        outcomes = pending.get(timeout=300)
    print(outcomes)

    # Replay every alias move in the order of the champion lock's numbers (the fencing token):
    # each promotion was judged against the champion of its moment, each rollback left from it.
    events = []
    for v in registry.ModelRegistry(client, name).versions():
        tags = registry.tags_of(v)
        if Tag.PROMOTION_LOCK in tags:
            decision = recorded_decision(cfg, tags)
            events.append((int(tags[Tag.PROMOTION_LOCK]), "promote", decision))
        if f"{Tag.ROLLBACK_PREFIX}restored.lock" in tags:
            lock = int(tags[f"{Tag.ROLLBACK_PREFIX}restored.lock"])
            events.append((lock, "rollback", (tags[f"{Tag.ROLLBACK_PREFIX}restored.other"], str(v.version))))
    events.sort(key=lambda e: e[0])
    assert len({e[0] for e in events}) == len(events), "no two moves under one lease"
    alias = None  # every move this module's registry saw, from its first promotion on
    for _, kind, what in events:
        if kind == "promote":
            assert what.champion_version == alias, (
                f"v{what.candidate_version} was judged against a stale champion"
            )
            alias = what.candidate_version if what.promoted else alias
        else:
            source, target = what
            assert source == alias, "the rollback left from the champion of its moment"
            alias = target
    assert str(registry.ModelRegistry(client, name).champion().version) == alias
    decided = {o["version"]: o for o in outcomes if o["op"] == "promote"}
    assert all("error" not in o for o in decided.values()), outcomes
    assert decided[worse]["promoted"] is False, "a deliberately worse model is never promoted"
    assert alias != worse
    rolled = next(o for o in outcomes if o["op"] == "rollback")
    assert "error" not in rolled and rolled["to"] in (first, good), rolled
