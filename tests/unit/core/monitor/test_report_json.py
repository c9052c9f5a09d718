"""Reading Evidently's report JSON: per-column verdicts (by the method's direction when the report
carries no test result), the prediction column's test, and quality metrics under our names."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.model.modeling import PREDICTION
from airflow_mlops.core.monitor.report_json import column_drift, parse_report

pytestmark = pytest.mark.unit


def test_parse_report_decides_by_method_when_tests_are_absent(cfg: PipelineConfig) -> None:
    """Without Evidently's test verdicts, a p-value drifts when low and a distance when high."""

    def value_drift(column: str, method: str, threshold: float, value: float) -> dict[str, Any]:
        config = {
            "type": "evidently:metric_v2:ValueDrift",
            "column": column,
            "method": method,
            "threshold": threshold,
        }
        return {"config": config, "value": value}

    report = {
        "metrics": [
            value_drift("dep_delay", "K-S p_value", 0.05, 0.001),  # drifted
            value_drift("distance", "ks", 0.05, 0.5),
            value_drift("carrier", "Jensen-Shannon distance", 0.1, 0.3),  # drifted
            value_drift("origin", "psi", 0.1, 0.05),
            value_drift(PREDICTION, "Jensen-Shannon distance", 0.1, 0.2),
            {"config": {"type": "evidently:metric_v2:Accuracy"}, "value": 0.8},
            {"config": {"type": "evidently:metric_v2:F1ByLabel"}, "value": {"0": 0.9, "1": float("nan")}},
        ],
        "tests": [],
    }
    read = parse_report(cfg, report)

    assert read.drifted_columns == ["dep_delay", "carrier"]
    assert read.drift_share == pytest.approx(2 / len(cfg.drift_columns))
    assert read.column_scores == {"dep_delay": 0.001, "distance": 0.5, "carrier": 0.3, "origin": 0.05}
    assert (read.prediction_column_score, read.prediction_column_drifted) == (0.2, True)
    assert read.quality == {"accuracy": 0.8, "f1_by_label_0": 0.9}


def test_a_verdict_over_every_row_replaces_the_reports(cfg: PipelineConfig) -> None:
    """The report's (sampled) verdict on the prediction column gives way to one over every row."""
    config = {
        "type": "evidently:metric_v2:ValueDrift",
        "column": PREDICTION,
        "method": "psi",
        "threshold": 0.1,
    }
    report = {
        "metrics": [{"config": config, "value": 0.05}],
        "tests": [
            {"metric_config": {"params": {"type": "evidently:metric_v2:ValueDrift", "column": PREDICTION}},
             "status": "SUCCESS"}
        ],
    }  # fmt: skip
    assert column_drift(report) == {PREDICTION: (0.05, False)}
    read = parse_report(cfg, report, {PREDICTION: (0.4, True)})
    assert (read.prediction_column_score, read.prediction_column_drifted) == (0.4, True)
    assert (read.drifted_columns, read.column_scores, read.quality) == ([], {}, None)
