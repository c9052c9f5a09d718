"""Slices in the gate: per-slice metrics of candidate and champion, the regression and fairness
bounds naming the slice, permutation importances; pure rules first, then on real flights and a real
registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model import holdout
from airflow_mlops.core.model.card_markdown import card_markdown
from airflow_mlops.core.model.holdout import SliceScore
from airflow_mlops.core.model.promote import PromotionDecision, promote
from airflow_mlops.core.model.train import train
from tests.conftest import ROOT
from tests.unit.conftest import JAN, JUL, World

pytestmark = pytest.mark.unit
FLIGHTS = ROOT / "include" / "pipelines" / "flights_delay.yaml"


def _gated(cfg: PipelineConfig, **gate: Any) -> PipelineConfig:
    return cfg.model_copy(update={"gate": cfg.gate.model_copy(update=gate)})


@pytest.fixture
def cfg(home: Path) -> PipelineConfig:
    return _gated(load_pipeline(FLIGHTS), slices=["origin"])


# --- the rules ------------------------------------------------------------------------------------
def test_a_slice_worse_than_the_champion_by_more_than_allowed_refuses_and_is_named(cfg) -> None:
    rows = [
        SliceScore("origin", "EWR", 900, 0.90, 0.91),  # worse by 0.01
        SliceScore("origin", "JFK", 800, 0.95, 0.90),
        SliceScore("origin", "LGA", 700, 0.85, 0.89),  # worse by 0.04: the worst
        SliceScore("origin", "XXX", 5, None, None),  # too few rows: not judged
    ]
    assert holdout.refusal(_gated(cfg, max_slice_regression=0.05), rows) is None
    why = holdout.refusal(_gated(cfg, max_slice_regression=0.02), rows)
    assert why is not None and "origin=LGA (700 rows)" in why, why
    assert "0.8500 vs champion 0.8900: worse by 0.0400" in why and "max_slice_regression 0.02" in why
    assert holdout.refusal(cfg, rows) is None, "without a bound the slices are recorded, not judged"


def test_the_fairness_bound_names_the_best_and_worst_slice(cfg) -> None:
    rows = [
        SliceScore("origin", "EWR", 900, 0.90, None),
        SliceScore("origin", "JFK", 800, 0.95, None),
        SliceScore("origin", "LGA", 700, 0.85, None),
    ]
    assert holdout.refusal(_gated(cfg, max_slice_gap=0.10), rows) is None
    why = holdout.refusal(_gated(cfg, max_slice_gap=0.05), rows)
    assert why is not None and "slices of origin differ by 0.1000" in why, why
    assert "best origin=JFK 0.9500 (800 rows), worst origin=LGA 0.8500 (700 rows)" in why


def test_lower_is_better_metrics_turn_the_comparison_around(home: Path) -> None:
    reg = load_pipeline(ROOT / "include" / "pipelines" / "diabetes_progression.yaml")
    rmse = reg.model_copy(
        update={
            "metrics": [*reg.metrics, "rmse"],
            "gate": reg.gate.model_copy(
                update={"metric": "rmse", "minimum": 80.0, "slices": ["sex"], "max_slice_regression": 1.0}
            ),
        }
    )
    better = [SliceScore("sex", "1", 50, 50.0, 52.0)]  # lower rmse: better
    worse = [SliceScore("sex", "2", 50, 54.0, 52.0)]
    assert holdout.refusal(rmse, better) is None
    why = holdout.refusal(rmse, worse)
    assert why is not None and "sex=2" in why and "worse by 2.0000" in why


def test_the_record_round_trips_worst_first(cfg) -> None:
    rows = [
        SliceScore("origin", "EWR", 900, 0.90, 0.91),
        SliceScore("origin", "LGA", 700, 0.85, 0.89),
        SliceScore("origin", "XXX", 5, None, None),
    ]
    back = holdout.read_record(holdout.record(cfg, rows))
    assert [s.value for s in back] == ["LGA", "EWR", "XXX"]
    assert back[0] == rows[1]
    assert holdout.read_record("") == [] and holdout.read_record("not json") == []


@pytest.mark.parametrize(
    ("gate", "expected"),
    [
        ("slices: [dep_delay]", "gate.slices: 'dep_delay' is a float column"),
        ("slices: [nowhere]", "gate.slices: 'nowhere' is not a column of schema.columns"),
        ("slices: [late]", "gate.slices: 'late' is the target"),
        ("slices: [origin, origin]", "gate: slices: ['origin'] listed twice"),
        ("max_slice_gap: 0.1", "gate: max_slice_gap is set but gate.slices names no column"),
        (
            "slices: [origin]\n  max_slice_regression: -1",
            "gate.max_slice_regression: Input should be greater",
        ),
    ],
)
def test_bad_slice_settings_name_the_field(home: Path, gate: str, expected: str) -> None:
    text = FLIGHTS.read_text().replace("  min_improvement: 0.0\n", f"  min_improvement: 0.0\n  {gate}\n")
    assert gate in text
    with pytest.raises(ConfigError) as e:
        parse_pipeline(text, "flights_delay.yaml")
    assert f"flights_delay.yaml: {expected}" in str(e.value), str(e.value)


# --- on real flights and a real registry ----------------------------------------------------------
def test_slice_scores_are_the_metric_on_each_slice(world: World) -> None:
    from sklearn.metrics import roc_auc_score

    cfg = _gated(world.cfg, slices=["origin", "carrier"], min_slice_rows=200)
    client = world.client
    version = world.champion()
    tags = registry.tags_of(client.get_model_version(cfg.registered_model_name, version))
    rows = world.lake.read_parquet(tags[Tag.HOLDOUT_URI])
    scored = holdout.score(cfg, registry.load_model(cfg, client, version), rows)
    assert {v for c, v in scored.slices if c == "origin"} == {"EWR", "JFK", "LGA"}
    model = registry.load_model(cfg, client, version)
    from airflow_mlops.core.model.modeling import features_frame

    for (column, value), (n, got) in scored.slices.items():
        part = rows[rows[column].astype(str) == value]
        assert n == len(part)
        if n < 200:
            assert got is None, f"{column}={value} has {n} rows: recorded, not scored"
            continue
        proba = model.predict_proba(features_frame(cfg, part))[:, 1]
        assert got == pytest.approx(roc_auc_score(part["late"].astype(int), proba)), (column, value)
    assert any(got is None for _, got in scored.slices.values()), "some carrier has few rows"


def test_a_fairness_bound_refuses_a_real_candidate_and_the_card_shows_the_slices(world: World) -> None:
    """January's flights: roc_auc differs by airport; a bound tighter than that gap refuses the model,
    naming the slices; the decision records every slice and the card shows them and the importances."""
    cfg = _gated(world.cfg, slices=["origin"], max_slice_gap=0.001)
    client, name = world.client, cfg.registered_model_name
    champion, version, d = _judged(world, cfg, "slices/1", window_days=6)
    assert not d.promoted and "its slices of origin differ by" in d.reason, d.reason
    assert "more than gate.max_slice_gap 0.001" in d.reason
    assert str(registry.ModelRegistry(client, name).champion().version) == champion, "the champion stays"
    tags = registry.tags_of(client.get_model_version(name, version))
    recorded = holdout.read_record(tags[f"{Tag.PROMOTION_PREFIX}slices"])
    assert {s.value for s in recorded} == {"EWR", "JFK", "LGA"}
    assert all(s.candidate is not None and s.champion is not None for s in recorded)
    scores = sorted(s.candidate for s in recorded if s.candidate is not None)
    assert f"differ by {scores[-1] - scores[0]:.4f}" in d.reason

    importances = json.loads(tags[Tag.IMPORTANCES])
    assert set(importances) == set(cfg.features.all)
    assert next(iter(importances)) == "dep_delay", (
        f"a departure delay drives the arrival delay: {importances}"
    )
    card = card_markdown(
        cfg, tags, [], "refused", version=version, champion=(champion, _tags(world, champion))
    )
    assert "### Slices" in card and "| origin=" in card
    assert f"| Feature | v{version} | champion v{champion} |" in card
    assert f"| dep_delay | {importances['dep_delay']:.4f} |" in card


def _unseen_rows(world: World, cfg: PipelineConfig, candidate: str, champion: str) -> Any:
    """The rows the gate must compare on, worked out here from the lake and the versions' tags, not
    from the decision: the candidate's held-out rows of intervals the champion was not fit on, plus
    the validated batches after the candidate's window (July's day here), labelled rows only."""
    import pandas as pd

    from airflow_mlops.core.model.training_data import INTERVAL, load_window

    cand, champ = _tags(world, candidate), _tags(world, champion)
    fitted = set(json.loads(champ[Tag.TRAINED_INTERVALS]))
    held = world.lake.read_parquet(cand[Tag.HOLDOUT_URI])
    held = held[~held[INTERVAL].astype(str).isin(fitted)]
    window = json.loads(cand[Tag.WINDOW])
    later = [ds for ds in world.catalog.validated_batches() if ds > window[-1] and ds not in fitted]
    assert later == [JUL], later
    extra, _ = load_window(cfg, world.catalog, later)
    rows = pd.concat([held, extra[[c for c in held.columns if c in extra.columns]]], ignore_index=True)
    return rows[rows[cfg.data_schema.target].notna()].reset_index(drop=True)


def _auc(world: World, cfg: PipelineConfig, version: str, rows: Any) -> float:
    from sklearn.metrics import roc_auc_score

    from airflow_mlops.core.model.modeling import features_frame

    model = registry.load_model(cfg, world.client, version)
    proba = model.predict_proba(features_frame(cfg, rows))[:, 1]
    return float(roc_auc_score(rows[cfg.data_schema.target].astype(int), proba))


def test_a_slice_regression_against_the_champion_decides_as_an_independent_scoring_says(
    world: World,
) -> None:
    """With max_slice_regression 0, a candidate is refused exactly when it is worse overall or on
    some airport. The expected decision comes from scoring both models here with scikit-learn on the
    rows neither was fit on, never from the decision's own record."""
    cfg = _gated(world.cfg, slices=["origin"], max_slice_regression=0.0)
    client, name = world.client, cfg.registered_model_name
    champion = world.champion()
    try:
        champion, version, d = _judged(world, cfg, "slices/2", window_days=5)
        rows = _unseen_rows(world, cfg, version, champion)
        assert d.champion_version == champion and d.compared_rows == len(rows) > 0, d.reason
        cand, champ = _auc(world, cfg, version, rows), _auc(world, cfg, champion, rows)
        assert (d.candidate_score, d.champion_score) == (pytest.approx(cand), pytest.approx(champ))
        losses = {}
        for origin in sorted(rows["origin"].astype(str).unique()):
            part = rows[rows["origin"].astype(str) == origin]
            if len(part) >= cfg.gate.min_slice_rows:
                losses[origin] = _auc(world, cfg, champion, part) - _auc(world, cfg, version, part)
        recorded = {s.value: s for s in holdout.read_record(d.slices)}
        assert set(recorded) == set(losses) == {"EWR", "JFK", "LGA"}, (recorded, losses)
        for origin, loss in losses.items():
            s = recorded[origin]
            assert s.champion is not None and s.candidate is not None
            assert s.champion - s.candidate == pytest.approx(loss, abs=1e-9), origin
        worst = max(losses, key=lambda o: losses[o])
        if cand - champ <= 1e-12:
            expected, says = False, "worse by" if cand < champ else "ties the champion"
        elif losses[worst] > 0:
            expected, says = False, f"but on slice origin={worst} ({len(rows[rows['origin'] == worst])} rows)"
        else:
            expected, says = True, "better by"
        assert d.promoted is expected and says in d.reason, (d.reason, cand, champ, losses)
    finally:  # the module's other tests expect the January champion
        client.set_registered_model_alias(name, registry.CHAMPION, champion)


def _tags(world: World, version: str) -> dict[str, str]:
    return registry.tags_of(world.client.get_model_version(world.cfg.registered_model_name, version))


def _judged(
    world: World, cfg: PipelineConfig, run_key: str, window_days: int
) -> tuple[str, str, PromotionDecision]:
    """The champion, a candidate trained on January's last days with ``cfg``, and the gate's decision on it."""
    champion = world.champion()
    version = train(
        cfg, world.lake, world.client, run_key=run_key, end_ds=JAN[-1], force=True, window_days=window_days
    ).version
    assert version is not None
    return champion, version, promote(cfg, world.lake, world.client, version)
