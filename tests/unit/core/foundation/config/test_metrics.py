"""Each metric's task, direction and range are declared together, so the config can judge a gate."""

from __future__ import annotations

import math

import pytest

from airflow_mlops.core.foundation.config.metrics import (
    METRICS,
    RANGES,
    difference_problem,
    shown_range,
    value_problem,
)

pytestmark = pytest.mark.unit


def test_every_metric_has_a_range_and_nothing_else_does() -> None:
    assert set(METRICS) == set(RANGES)
    assert all(low < high for low, high in RANGES.values())


@pytest.mark.parametrize(
    ("metric", "shown"), [("roc_auc", "[0, 1]"), ("log_loss", "[0, inf)"), ("r2", "(-inf, 1]")]
)
def test_a_range_is_shown_as_a_person_reads_it(metric: str, shown: str) -> None:
    assert shown_range(metric) == shown


def test_a_value_is_judged_by_its_metrics_range_and_must_be_finite() -> None:
    assert value_problem("roc_auc", 1.0) is None and value_problem("roc_auc", 0.0) is None
    assert value_problem("roc_auc", 1.01) == "1.01 is outside the range of roc_auc, [0, 1]"
    assert value_problem("r2", -1e9) is None
    assert value_problem("rmse", math.nan) is not None


def test_a_difference_cannot_exceed_the_width_of_the_range() -> None:
    assert difference_problem("accuracy", 1.0) is None
    assert "larger than any difference of two accuracy scores" in str(difference_problem("accuracy", 1.5))
    assert difference_problem("rmse", 1e12) is None, "an unbounded metric allows any finite difference"
    assert difference_problem("rmse", math.inf) is not None
