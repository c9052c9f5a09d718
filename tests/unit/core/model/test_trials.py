"""The trials of a model search without a registry: drawn from the seed, folds in time order, the best."""

from __future__ import annotations

import itertools
import json

import pytest

from airflow_mlops.core.foundation.errors import DataNotFoundError
from airflow_mlops.core.model import trials
from airflow_mlops.core.model.trials import TrialResult
from tests.unit.core.model.test_search import HGB, LOGREG, SEARCH, yaml_with

pytestmark = pytest.mark.unit


def test_the_plan_is_a_function_of_the_seed() -> None:
    cfg = yaml_with({"search": {**SEARCH, "trials": 6}})
    assert cfg.model.search is not None
    a = trials.plan_trials(cfg.model.search, 7)
    assert a == trials.plan_trials(cfg.model.search, 7)
    assert a != trials.plan_trials(cfg.model.search, 8)
    assert [t.index for t in a] == list(range(6))
    assert [t.estimator for t in a] == [LOGREG, HGB] * 3, "candidates take turns"
    for t in a:
        if t.estimator == LOGREG:
            assert 0.01 <= t.params["C"] <= 10.0 and t.params["max_iter"] == 300
    hgb = [json.dumps(t.params, sort_keys=True) for t in a if t.estimator == HGB]
    assert len(set(hgb)) == 3, "a grid is drawn without replacement"


def test_an_exhausted_grid_ends_the_plan_early_and_int_ranges_give_ints() -> None:
    cfg = yaml_with(
        {
            "search": {
                "candidates": [
                    {"estimator": HGB, "params": {"max_iter": [10, 20]}},
                    {"estimator": HGB, "params": {"max_leaf_nodes": {"low": 4, "high": 64, "int": True}}},
                ],
                "trials": 8,
            }
        }
    )
    assert cfg.model.search is not None
    drawn = trials.plan_trials(cfg.model.search, 1)
    assert len(drawn) == 8
    firsts = [t.params for t in drawn if "max_iter" in t.params]
    assert sorted(p["max_iter"] for p in firsts) == [10, 20], "two points, then only the range is left"
    leaves = [t.params["max_leaf_nodes"] for t in drawn if "max_leaf_nodes" in t.params]
    assert all(isinstance(x, int) and 4 <= x <= 64 for x in leaves) and len(leaves) == 6
    grid_only = yaml_with({"search": {"candidates": [{"estimator": HGB, "params": {"max_iter": [1, 2, 3]}}]}})
    assert grid_only.model.search is not None
    assert len(trials.plan_trials(grid_only.model.search, 0)) == 3, "fewer trials than the budget"


def test_folds_expand_in_time_and_end_where_the_training_part_ends() -> None:
    folds = trials.time_folds(1000, 4)
    assert folds == [(200, 400), (400, 600), (600, 800), (800, 1000)]
    for (t0, v0), (t1, v1) in itertools.pairwise(folds):
        assert t1 > t0 and v1 > v0, "each fold learns from more of the past and is scored later"
    for train_end, valid_end in folds:
        assert valid_end > train_end
    with pytest.raises(DataNotFoundError, match=r"model.search.folds: 4 folds of 60 training rows leave 12"):
        trials.time_folds(60, 4)


def test_the_best_trial_wins_and_a_tie_goes_to_the_earlier() -> None:
    def r(i: int, score: float | None, status: str = "done") -> TrialResult:
        return TrialResult(i, LOGREG, {"C": i}, status, score)

    results = [r(2, 0.8), r(0, 0.7), r(1, 0.8), r(3, 0.95, "failed"), r(4, None, "skipped")]
    best = trials.best(results, higher_is_better=True)
    assert best is not None and best.index == 1
    low = trials.best(results, higher_is_better=False)
    assert low is not None and low.index == 0
    assert trials.best([r(0, None, "skipped")], higher_is_better=True) is None
