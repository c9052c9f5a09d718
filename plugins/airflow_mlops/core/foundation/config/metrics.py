"""The metrics a pipeline may name: their task, direction and range, without scikit-learn.

Kept apart from the training code so that the config (and ``airflow-mlops check``) can refuse a
gate that no model could ever pass, or that every model passes, at parse time.
"""

from __future__ import annotations

import math
from typing import Final, Literal

TaskType = Literal["classification", "regression"]
INF: Final = math.inf

#: Metric name -> (task type, higher is better). Kept here, not in the training code, so that the
#: config can be checked at parse time without importing scikit-learn.
METRICS: dict[str, tuple[TaskType, bool]] = {
    "roc_auc": ("classification", True),
    "accuracy": ("classification", True),
    "balanced_accuracy": ("classification", True),
    "f1": ("classification", True),
    "precision": ("classification", True),
    "recall": ("classification", True),
    "log_loss": ("classification", False),
    "brier": ("classification", False),
    "rmse": ("regression", False),
    "mae": ("regression", False),
    "r2": ("regression", True),
    "mape": ("regression", False),
}

#: Metric name -> (lowest, highest) value it can take on any data.
RANGES: dict[str, tuple[float, float]] = {
    "roc_auc": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "balanced_accuracy": (0.0, 1.0),
    "f1": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "log_loss": (0.0, INF),
    "brier": (0.0, 1.0),
    "rmse": (0.0, INF),
    "mae": (0.0, INF),
    "r2": (-INF, 1.0),
    "mape": (0.0, INF),
}


def shown_range(metric: str) -> str:
    """The range as a person reads it, e.g. ``[0, 1]`` or ``[0, inf)``."""
    low, high = RANGES[metric]
    left = "(-inf" if low == -INF else f"[{low:g}"
    right = "inf)" if high == INF else f"{high:g}]"
    return f"{left}, {right}"


def value_problem(metric: str, value: float) -> str | None:
    """Why ``value`` cannot be a score of ``metric``, or None."""
    low, high = RANGES[metric]
    if not math.isfinite(value) or not low <= value <= high:
        return f"{value!r} is outside the range of {metric}, {shown_range(metric)}"
    return None


def difference_problem(metric: str, value: float) -> str | None:
    """Why ``value`` cannot be a difference between two scores of ``metric``, or None."""
    low, high = RANGES[metric]
    width = high - low
    if not math.isfinite(value) or value > width:
        return (
            f"{value!r} is larger than any difference of two {metric} scores "
            f"(its range is {shown_range(metric)}, {width:g} wide)"
        )
    return None
