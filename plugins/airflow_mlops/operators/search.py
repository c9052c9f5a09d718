"""PlanSearchOperator and SearchTrialOperator: a model search as Airflow tasks.

``plan`` lists the trials; ``trial`` is mapped over them (one task instance per trial, so a Celery
deployment spreads them over its workers); ``train`` then trains the best (see TrainModelOperator).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSkipException

from airflow_mlops.base import PipelineOperator, WindowOperator

#: The XCom key of the plan's summary (window, search run, deadline); its return value is the trials.
PLAN_KEY = "search"


class PlanSearchOperator(WindowOperator):
    """Resolve the training window, open the search's MLflow run and return the trials to map over.

    Nothing new to learn (the champion was trained on exactly this window and config) skips the
    run: the plan's summary says why, and ``train`` shows it.
    """

    ui_color = "#f3f0fa"

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from airflow_mlops.core.model.search import plan

        res = plan(
            self.config, self.lake, self.mlflow, run_key=self.run_key(context), **self.window()
        ).to_dict()
        context["ti"].xcom_push(key=PLAN_KEY, value={k: v for k, v in res.items() if k != "trials"})
        if res["skipped"]:
            raise AirflowSkipException(f"{self.pipeline}: not retrained: {res['reason']}")
        self.log.info(
            "%s: %s on %s..%s (search run %s); trials not started by %s are skipped",
            self.pipeline,
            res["reason"],
            res["window"][0],
            res["window"][-1],
            res["parent_run_id"],
            res["deadline"],
        )
        for t in res["trials"]:
            self.log.info("trial %d: %s %s", t["index"], t["estimator"], t["params"])
        return list(res["trials"])


class SearchTrialOperator(PipelineOperator):
    """Score one trial on the time-ordered folds, logged as a run nested under the search's run."""

    ui_color = "#f3f0fa"

    def __init__(self, *, trial: dict[str, Any], plan_task_id: str = "plan", **kwargs: Any) -> None:
        super().__init__(ds=None, **kwargs)
        self.trial = trial
        self.plan_task_id = plan_task_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.model.trials import run_trial

        plan = context["ti"].xcom_pull(task_ids=self.plan_task_id, key=PLAN_KEY)
        res = run_trial(self.config, self.lake, self.mlflow, plan, self.trial).to_dict()
        if res["status"] == "skipped":
            raise AirflowSkipException(f"trial {res['index']}: {res['note']} (model.search.minutes)")
        self.log.info(
            "trial %d %s %s: %s, %s %s over folds %s (%.1f s)%s",
            res["index"],
            res["estimator"],
            res["params"],
            res["status"],
            plan["metric"],
            "-" if res["score"] is None else f"{res['score']:.4f}",
            [round(s, 4) for s in res["fold_scores"]],
            res["seconds"],
            f"; {res['note']}" if res["note"] else "",
        )
        return res
