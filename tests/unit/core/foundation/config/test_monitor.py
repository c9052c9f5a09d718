"""The monitor section: labels that arrive later need a key, and a performance trigger a bound."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_mlops.core.foundation.config.monitor import LabelsConfig, MonitorConfig, PerformanceTriggerConfig

pytestmark = pytest.mark.unit


def test_labels_that_arrive_later_need_the_key_that_matches_them() -> None:
    with pytest.raises(ValidationError, match="key: labels that arrive later need the column"):
        LabelsConfig.model_validate({"arrive": "later"})
    assert LabelsConfig.model_validate({"arrive": "later", "key": ["id"]}).key == ["id"]


def test_an_enabled_performance_trigger_needs_a_bound() -> None:
    with pytest.raises(ValidationError, match="enabled: set max_drop or floor"):
        PerformanceTriggerConfig.model_validate({"enabled": True})
    assert PerformanceTriggerConfig.model_validate({"enabled": True, "floor": 0.6}).floor == 0.6


def test_by_default_only_covariate_drift_asks_for_a_retrain() -> None:
    triggers = MonitorConfig().triggers
    assert triggers.covariate_drift.enabled
    assert not (
        triggers.prediction_drift.enabled or triggers.prior_shift.enabled or triggers.performance.enabled
    )
