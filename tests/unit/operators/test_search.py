"""PlanSearchOperator, SearchTrialOperator and TrainModelOperator after a search: what each pushes,
when each skips (the budget, nothing new), and the winner registered from the trials' runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.sdk.exceptions import AirflowSkipException

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.operators import PlanSearchOperator, SearchTrialOperator, TrainModelOperator
from tests.conftest import PIPELINES
from tests.unit.conftest import JAN, World
from tests.unit.operators.conftest import TaskInstance, make_context

pytestmark = pytest.mark.unit
SEARCH = {
    "candidates": [
        {
            "estimator": "sklearn.linear_model.LogisticRegression",
            "params": {"C": [0.1, 1.0], "max_iter": [300]},
        }
    ],
    "trials": 2,
    "folds": 2,
}


@dataclass
class SharedTI(TaskInstance):
    """One task instance standing for every task of the run: pulls read what was pushed."""

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms.get(f"{task_ids}:{key}")


@pytest.fixture
def searching(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    d = yaml.safe_load((PIPELINES / "flights_delay.yaml").read_text())
    d["model"] = {"search": SEARCH, "max_categories": 40}
    (tmp_path / "flights_delay.yaml").write_text(yaml.safe_dump(d))
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path))
    return world


def run(op: Any, context: dict[str, Any]) -> Any:
    """Execute ``op`` as its task would, keeping its pushes under ``<task_id>:<key>``."""
    ti = context["ti"]
    before = dict(ti.xcoms)
    op.render_template_fields(context)
    try:
        out = op.execute(context)
    finally:
        for k, v in list(ti.xcoms.items()):
            if ":" not in k and before.get(k) is not v:
                ti.xcoms[f"{op.task_id}:{k}"] = ti.xcoms.pop(k)
    ti.xcoms[f"{op.task_id}:return_value"] = out
    return out


def test_plan_trials_and_train_register_the_winner(searching: World) -> None:
    params = {"reason": "unit: search", "training_window_days": 14, "end_date": JAN[-1], "force": True}
    context = make_context(run_id="manual__s", params=params, ti=SharedTI())
    trials = run(PlanSearchOperator(task_id="plan", pipeline="flights_delay"), context)
    plan = context["ti"].xcoms["plan:search"]
    assert len(trials) == 2 and "trials" not in plan and plan["window"] == JAN
    results = [
        run(SearchTrialOperator(task_id="trial", pipeline="flights_delay", trial=t), context) for t in trials
    ]
    assert [r["status"] for r in results] == ["done", "done"]
    res = run(TrainModelOperator(task_id="train", pipeline="flights_delay", plan_task_id="plan"), context)
    best = max(results, key=lambda r: r["score"])
    assert res["run_id"] == plan["parent_run_id"] and res["version"]
    tags = registry.tags_of(searching.client.get_model_version("flights_delay", res["version"]))
    assert tags[Tag.ESTIMATOR] == best["estimator"] and tags[Tag.RUN_KEY] == "flights_delay__train/manual__s"
    assert searching.client.get_run(res["run_id"]).data.params["model.C"] == str(best["params"]["C"])


def test_a_trial_after_the_deadline_is_a_skipped_task(searching: World) -> None:
    context = make_context(run_id="manual__late", params={"force": True, "end_date": JAN[-1]}, ti=SharedTI())
    trials = run(PlanSearchOperator(task_id="plan", pipeline="flights_delay"), context)
    context["ti"].xcoms["plan:search"]["deadline"] = "2000-01-01T00:00:00+00:00"
    with pytest.raises(
        AirflowSkipException, match=r"trial 0: not started before 2000-01-01.*model.search.minutes"
    ):
        run(SearchTrialOperator(task_id="trial", pipeline="flights_delay", trial=trials[0]), context)


def test_a_skipped_plan_makes_train_skip_with_its_reason(searching: World) -> None:
    context = make_context(run_id="manual__skip", ti=SharedTI())
    context["ti"].xcoms["plan:search"] = {
        "skipped": True,
        "reason": "champion v1 was trained on exactly these",
    }
    op = TrainModelOperator(task_id="train", pipeline="flights_delay", plan_task_id="plan")
    with pytest.raises(
        AirflowSkipException, match=r"not retrained: champion v1 was trained on exactly these"
    ):
        run(op, context)
    assert context["ti"].xcoms["train:training"]["skipped"] is True
