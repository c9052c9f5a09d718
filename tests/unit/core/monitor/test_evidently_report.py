"""The Evidently adapter: configured tests reach Evidently (reading its report back: test_report_json.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_mlops.core.foundation.config import ColumnDriftConfig, PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError
from airflow_mlops.core.model.modeling import PREDICTION
from airflow_mlops.core.monitor.evidently_report import build_report

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
