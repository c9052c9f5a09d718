"""Rules across sections: a gate value the metric cannot take is refused at parse time."""

from __future__ import annotations

import math

import pytest
import yaml

from airflow_mlops.core.foundation.config import (
    parse_pipeline,
)
from tests.unit.core.foundation.config.pipelines import refused, shipped

pytestmark = pytest.mark.unit


# --- gate values the metric cannot take ---------------------------------------------------------
@pytest.mark.parametrize(
    ("pipeline", "gate", "problem"),
    [
        ("flights_delay", {"minimum": 2.0}, "gate.minimum: 2.0 is outside the range of roc_auc, [0, 1]"),
        ("flights_delay", {"minimum": -1}, "gate.minimum: -1.0 is outside the range of roc_auc, [0, 1]"),
        (
            "flights_delay",
            {"metric": "accuracy", "minimum": 1.2},
            "gate.minimum: 1.2 is outside the range of accuracy",
        ),
        (
            "flights_delay",
            {"metric": "log_loss", "minimum": -0.1},
            "gate.minimum: -0.1 is outside the range of log_loss, [0, inf)",
        ),
        (
            "flights_delay",
            {"min_improvement": 1.5},
            "gate.min_improvement: 1.5 is larger than any difference of two roc_auc scores (its range is [0, 1]",
        ),
        (
            "flights_delay",
            {"slices": ["origin"], "max_slice_gap": 3},
            "gate.max_slice_gap: 3.0 is larger than any difference of two roc_auc scores",
        ),
        (
            "diabetes_progression",
            {"metric": "rmse", "minimum": -5},
            "gate.minimum: -5.0 is outside the range of rmse, [0, inf)",
        ),
        (
            "diabetes_progression",
            {"metric": "mae", "minimum": -0.5},
            "gate.minimum: -0.5 is outside the range of mae",
        ),
        ("diabetes_progression", {"minimum": 1.5}, "gate.minimum: 1.5 is outside the range of r2, (-inf, 1]"),
        ("flights_delay", {"minimum": math.nan}, "gate.minimum: Input should be a finite number"),
        (
            "flights_delay",
            {"min_improvement": math.inf},
            "gate.min_improvement: Input should be a finite number",
        ),
    ],
)
def test_gate_values_outside_the_metrics_range_are_refused(pipeline: str, gate: dict, problem: str) -> None:
    d = shipped(pipeline)
    if "metric" in gate:
        d["metrics"] = [*d["metrics"], gate["metric"]]
    d["gate"].update(gate)
    assert f"p.yaml: {problem}" in refused(d)


def test_a_performance_trigger_bound_outside_the_range_is_refused() -> None:
    d = shipped("flights_delay")
    d["monitor"] = {"triggers": {"performance": {"enabled": True, "floor": 1.3, "max_drop": 2}}}
    msg = refused(d)
    assert "p.yaml: monitor.triggers.performance.floor: 1.3 is outside the range of roc_auc" in msg
    assert "p.yaml: monitor.triggers.performance.max_drop: 2.0 is larger than any difference" in msg


def test_gate_values_at_the_edges_of_the_range_pass() -> None:
    d = shipped("flights_delay")
    d["gate"].update(minimum=1.0, min_improvement=1.0)
    assert parse_pipeline(yaml.safe_dump(d), "p.yaml").gate.minimum == 1.0
    r = shipped("diabetes_progression")
    r["gate"].update(minimum=-50.0)  # r2 has no lower bound
    assert parse_pipeline(yaml.safe_dump(r), "p.yaml").gate.minimum == -50.0
