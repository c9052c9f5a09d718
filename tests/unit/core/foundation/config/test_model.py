"""The model, split and gate sections: one way to choose a model, sampled spaces that can be
sampled, and slices that are named before they are judged."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_mlops.core.foundation.config.model import (
    DEFAULT_MIN_HOLDOUT_ROWS,
    CandidateConfig,
    GateConfig,
    ModelConfig,
    RangeSpace,
)

pytestmark = pytest.mark.unit

LOGREG = "sklearn.linear_model.LogisticRegression"


@pytest.mark.parametrize(
    ("space", "problem"),
    [
        ({"low": 1, "high": 1}, "low (1.0) must be below high (1.0)"),
        ({"low": 0, "high": 1, "log": True}, "log: true needs low > 0"),
        ({"low": 0.5, "high": 3, "int": True}, "int: true needs whole bounds"),
    ],
)
def test_a_range_that_cannot_be_sampled_is_refused(space: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        RangeSpace.model_validate(space)


def test_a_candidates_bad_space_is_named_by_its_parameter() -> None:
    with pytest.raises(ValidationError, match="C: the list of choices is empty"):
        CandidateConfig.model_validate({"estimator": LOGREG, "params": {"C": []}})
    with pytest.raises(ValidationError, match="C: low: Field required"):
        CandidateConfig.model_validate({"estimator": LOGREG, "params": {"C": {"high": 2}}})
    with pytest.raises(ValidationError, match="C: 3 is not a space"):
        CandidateConfig.model_validate({"estimator": LOGREG, "params": {"C": 3}})


def test_a_model_is_an_estimator_or_a_search_never_both() -> None:
    with pytest.raises(ValidationError, match="estimator: required"):
        ModelConfig.model_validate({})
    search = {"candidates": [{"estimator": LOGREG}, {"estimator": LOGREG}]}
    with pytest.raises(ValidationError, match="estimator and search exclude each other"):
        ModelConfig.model_validate({"estimator": LOGREG, "search": search})
    with pytest.raises(ValidationError, match="params and search exclude each other"):
        ModelConfig.model_validate({"params": {"C": 1}, "search": search})
    assert ModelConfig.model_validate({"search": search}).estimators == [LOGREG]
    assert ModelConfig.model_validate({"estimator": LOGREG}).estimators == [LOGREG]


def test_a_gates_slice_bounds_need_slices_and_the_holdout_has_a_default() -> None:
    with pytest.raises(ValidationError, match=r"max_slice_gap is set but gate\.slices names no column"):
        GateConfig.model_validate({"metric": "roc_auc", "minimum": 0.5, "max_slice_gap": 0.1})
    with pytest.raises(ValidationError, match=r"slices: \['origin'\] listed twice"):
        GateConfig.model_validate({"metric": "roc_auc", "minimum": 0.5, "slices": ["origin", "origin"]})
    gate = GateConfig.model_validate({"metric": "rmse", "minimum": 80})
    assert gate.held_out_minimum == DEFAULT_MIN_HOLDOUT_ROWS and not gate.higher_is_better
    assert (
        GateConfig.model_validate({"metric": "r2", "minimum": 0, "min_holdout_rows": 7}).held_out_minimum == 7
    )
