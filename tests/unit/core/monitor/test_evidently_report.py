"""The Evidently adapter: configured tests reach Evidently, and its report is read back right."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from airflow_mlops.core.foundation.config import ColumnDriftConfig, PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError
from airflow_mlops.core.model.modeling import PREDICTION
from airflow_mlops.core.monitor.evidently_report import build_report, parse_report

pytestmark = pytest.mark.unit


def test_configured_method_and_threshold_reach_evidently(
    cfg: PipelineConfig, scored: dict[str, pd.DataFrame]
) -> None:
    psi = cfg.model_copy(
        update={
            "drift": cfg.drift.model_copy(update={"method": "psi", "method_threshold": 0.2, "per_column": {}})
        }
    )
    _, report = build_report(psi, scored["july"], scored["reference"])

    value_drifts = [m["config"] for m in report["metrics"] if m["config"]["type"].endswith(":ValueDrift")]
    assert {c["column"] for c in value_drifts} == {*cfg.drift_columns, PREDICTION}
    assert {(c["method"], c["threshold"]) for c in value_drifts} == {("psi", 0.2)}


def test_numeric_only_method_on_categorical_columns_is_a_config_error(
    cfg: PipelineConfig, scored: dict[str, pd.DataFrame]
) -> None:
    wasserstein = cfg.model_copy(
        update={"drift": cfg.drift.model_copy(update={"method": "wasserstein", "per_column": {}})}
    )
    with pytest.raises(
        ConfigError, match=r"drift.method 'wasserstein' cannot test the categorical column\(s\) \['carrier'"
    ):
        build_report(wasserstein, scored["january"], scored["reference"])
    per_column = cfg.drift.per_column | {"origin": ColumnDriftConfig(method="ks")}
    ks = cfg.model_copy(update={"drift": cfg.drift.model_copy(update={"per_column": per_column})})
    with pytest.raises(ConfigError, match=r"drift.per_column.origin.method 'ks' cannot test the categorical"):
        build_report(ks, scored["january"], scored["reference"])


def test_per_column_tests_reach_evidently(cfg: PipelineConfig, scored: dict[str, pd.DataFrame]) -> None:
    _, report = build_report(cfg, scored["july"], scored["reference"])
    by_column = {
        m["config"]["column"]: (m["config"]["method"], m["config"]["threshold"])
        for m in report["metrics"]
        if m["config"]["type"].endswith(":ValueDrift")
    }
    for column, test in cfg.drift.per_column.items():
        assert by_column[column] == (test.method, test.threshold)


def test_missing_drift_column_is_a_contract_error(
    cfg: PipelineConfig, scored: dict[str, pd.DataFrame]
) -> None:
    with pytest.raises(DataContractError, match=r"\['dest'\].*current"):
        build_report(cfg, scored["january"].drop(columns=["dest"]), scored["reference"])


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
    share, drifted, scores, pred, pred_drifted, quality = parse_report(cfg, report)

    assert drifted == ["dep_delay", "carrier"]
    assert share == pytest.approx(2 / len(cfg.drift_columns))
    assert scores == {"dep_delay": 0.001, "distance": 0.5, "carrier": 0.3, "origin": 0.05}
    assert (pred, pred_drifted) == (0.2, True)
    assert quality == {"accuracy": 0.8, "f1_by_label_0": 0.9}
