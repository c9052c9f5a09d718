"""A search with a snapshot gone from the lake fails at once, naming the file: no retry brings it back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation.errors import DataNotFoundError
from airflow_mlops.operators import PlanSearchOperator
from tests.conftest import PIPELINES
from tests.unit.conftest import JAN, World
from tests.unit.operators.conftest import failed_on, make_context

pytestmark = pytest.mark.unit


def test_a_search_with_a_snapshot_gone_fails_at_once(
    gone: tuple[World, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = yaml.safe_load((PIPELINES / "flights_delay.yaml").read_text())
    d["model"] = {
        "search": {
            "candidates": [{"estimator": "sklearn.linear_model.LogisticRegression", "params": {"C": [1.0]}}],
            "trials": 1,
            "folds": 2,
        },
        "max_categories": 40,
    }
    (tmp_path / "flights_delay.yaml").write_text(yaml.safe_dump(d))
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path))
    op = PlanSearchOperator(
        task_id="plan", pipeline="flights_delay", window_days="", window_end=JAN[-1], force="true"
    )
    with pytest.raises(AirflowFailException, match=r"DataNotFoundError \(permanent, not retried\)") as got:
        op.execute(make_context())
    failed_on(got, DataNotFoundError, f"ds={JAN[2]}/data-")
