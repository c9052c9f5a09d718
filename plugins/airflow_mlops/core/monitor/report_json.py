"""Reading an Evidently 0.7 report's JSON (with evidently_report, all that knows its shape): each
column's drift score and verdict, and the quality metrics under our names."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.model.modeling import PREDICTION
from airflow_mlops.core.monitor import methods

log = logging.getLogger(__name__)

#: Evidently metric type -> our name, where snake case is not it (names match config.METRICS);
#: Evidently's MAPE is in percent (sklearn's is a fraction), hence a different name.
_QUALITY_NAMES = {"F1Score": "f1", "R2Score": "r2", "MAPE": "mape_pct"}
_DRIFT_TYPES = {"ValueDrift", "DriftedColumnsCount"}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _type(metric: dict[str, Any]) -> str:
    return str(metric.get("config", {}).get("type", "")).rsplit(":", 1)[-1]


def _finite(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def column_drift(report: dict[str, Any]) -> dict[str, tuple[float, bool]]:
    """Column -> (score, drifted) from the ValueDrift metrics and their tests (FAIL: drifted);
    without a test, the method's own rule against the metric's threshold."""
    verdicts: dict[str, bool] = {}
    for test in report.get("tests", []):
        params = test.get("metric_config", {}).get("params", {})
        if str(params.get("type", "")).endswith(":ValueDrift") and "column" in params:
            verdicts[str(params["column"])] = test.get("status") == "FAIL"
    out: dict[str, tuple[float, bool]] = {}
    for metric in report.get("metrics", []):
        if _type(metric) != "ValueDrift":
            continue
        config = metric["config"]
        column = str(config["column"])
        score = _finite(metric.get("value"))
        if score is None:
            continue
        if column in verdicts:
            out[column] = (score, verdicts[column])
        elif (threshold := _finite(config.get("threshold"))) is not None:
            method = methods.find(str(config.get("method") or ""))
            out[column] = (score, method.drifted(score, threshold) if method else score >= threshold)
    return out


def _quality(report: dict[str, Any]) -> dict[str, float] | None:
    """Quality metrics flattened to name -> float (by-label values as ``<name>_<label>``)."""
    out: dict[str, float] = {}
    for metric in report.get("metrics", []):
        kind = _type(metric)
        if kind in _DRIFT_TYPES or not kind:
            continue
        name = _QUALITY_NAMES.get(kind) or _snake(kind)
        value = metric.get("value")
        if isinstance(value, dict):
            for key, v in value.items():
                f = _finite(v)
                if f is not None:
                    out[name if key == "mean" else f"{name}_{_snake(str(key))}"] = f
        else:
            f = _finite(value)
            if f is not None:
                out[name] = f
    return out or None


@dataclass(frozen=True)
class ReportReading:
    """What a drift report says, with the verdicts made over every row in place of its sample's."""

    drift_share: float  # of the monitored columns
    drifted_columns: list[str]
    column_scores: dict[str, float]  # monitored column -> its method's score
    prediction_column_score: float | None  # the prediction column's test (not the PSI signal)
    prediction_column_drifted: bool | None
    quality: dict[str, float] | None


def parse_report(
    cfg: PipelineConfig, report: dict[str, Any], decided: dict[str, tuple[float, bool]] | None = None
) -> ReportReading:
    """The report's drift and quality. ``decided``: column -> (score, drifted) computed over every
    row; it replaces the report's verdict (made on a sample) for those columns."""
    per_column = {**column_drift(report), **(decided or {})}
    monitored = cfg.drift_columns
    # A column that lost (or never had) its values on one side cannot be tested: it counts as drifted.
    empty = set(report.get("empty_columns") or [])
    drifted = [c for c in monitored if c in empty or (c in per_column and per_column[c][1])]
    for metric in report.get("metrics", []):
        if _type(metric) == "DriftedColumnsCount" and isinstance(metric.get("value"), dict):
            count = _finite(metric["value"].get("count"))
            if count is not None and not decided and int(count) != len(drifted) - len(empty):
                log.warning(
                    "%s: Evidently counts %d drifted columns, its per-column tests %d; using the tests",
                    cfg.name,
                    int(count),
                    len(drifted) - len(empty),
                )
    pred = per_column.get(PREDICTION) if PREDICTION not in monitored else None
    return ReportReading(
        drift_share=len(drifted) / len(monitored) if monitored else 0.0,
        drifted_columns=drifted,
        column_scores={c: per_column[c][0] for c in monitored if c in per_column},
        prediction_column_score=pred[0] if pred else None,
        prediction_column_drifted=pred[1] if pred else None,
        quality=_quality(report),
    )
