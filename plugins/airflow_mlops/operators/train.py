"""TrainModelOperator: train, log to MLflow and register a version with its lineage."""

from __future__ import annotations

from collections import Counter
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSkipException

from airflow_mlops.base import WindowOperator, pipeline_template_fields
from airflow_mlops.links import MlflowRunLink, ModelVersionLink


def describe_trigger(context: Context, reason: str) -> str:
    """The reason for this run in words: the given one, or the drift event that triggered it."""
    events = context.get("triggering_asset_events") or {}
    for _asset, evs in events.items():
        for ev in evs:
            extra = ev.extra or {}
            if extra.get("retrain_reason"):  # names each fired signal (core/monitor/signals.py)
                return str(extra["retrain_reason"])
            if "drift_share" in extra:
                return (
                    f"drift on {extra.get('ds')}: {float(extra['drift_share']):.0%} of monitored columns "
                    f"drifted (threshold {float(extra.get('threshold', 0)):.0%})"
                )
    return reason


class TrainModelOperator(WindowOperator):
    """Train a model of ``pipeline`` on its newest validated window (Params may change the window)."""

    operator_extra_links = (ModelVersionLink(), MlflowRunLink())

    template_fields = pipeline_template_fields("reason", "window_days", "window_end", "force")
    ui_color = "#eef8ea"

    def __init__(
        self, *, reason: str = "{{ params.reason }}", plan_task_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.reason = reason
        self.plan_task_id = plan_task_id  # set with model.search: train the best of that plan's trials

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.model.train import train

        dag_run = context["dag_run"]
        reason = describe_trigger(context, str(self.reason or "scheduled"))
        airflow_context = {"dag_id": dag_run.dag_id, "run_id": dag_run.run_id}
        if self.plan_task_id:
            res = self._train_winner(context, reason, self.window()["window_days"], airflow_context)
        else:
            res = train(
                self.config,
                self.lake,
                self.mlflow,
                run_key=self.run_key(context),
                reason=reason,
                airflow_context=airflow_context,
                **self.window(),
            ).to_dict()
        context["ti"].xcom_push(key="training", value=res)
        if res["skipped"]:
            raise AirflowSkipException(f"{self.pipeline}: not retrained: {res['reason']}")
        self.log.info(
            "%s v%s %s (run %s): %s on %d train / %d held-out rows of %s..%s; reason: %s",
            res["model_name"],
            res["version"],
            "reused from an earlier attempt" if res["reused"] else "registered",
            res["run_id"],
            ", ".join(f"{k}={v:.4f}" for k, v in res["metrics"].items()),
            res["train_rows"],
            res["test_rows"],
            res["window"][0],
            res["window"][-1],
            reason,
        )
        return res

    def _train_winner(
        self, context: Context, reason: str, days: int | None, airflow_context: dict[str, str]
    ) -> dict[str, Any]:
        """After a search: the plan's skip, or the best trial trained and registered."""
        from airflow_mlops.core.model.search import train_winner

        plan = context["ti"].xcom_pull(task_ids=self.plan_task_id, key="search")
        if not plan or plan["skipped"]:
            why = plan["reason"] if plan else "the search was not planned"
            return {"skipped": True, "reason": why, "pipeline": self.pipeline}
        plan["trials"] = context["ti"].xcom_pull(task_ids=self.plan_task_id)
        res, rec = train_winner(
            self.config,
            self.lake,
            self.mlflow,
            plan,
            run_key=self.run_key(context),
            reason=reason,
            window_days=days,
            airflow_context=airflow_context,
        )
        counts = dict(Counter(t["status"] for t in rec["trials"]))
        self.log.info(
            "search: winner trial %d %s %s, cv %s %.4f; trials %s",
            rec["winner"]["trial"],
            rec["winner"]["estimator"],
            rec["winner"]["params"],
            rec["metric"],
            rec["winner"]["score"],
            counts,
        )
        return res.to_dict()
