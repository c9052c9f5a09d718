"""PromoteModelOperator: the gate; moves the ``champion`` alias only for a better model (or, with
``gate.approval: required``, records that the candidate passed and waits for a person)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from airflow_mlops.base import PipelineOperator, pipeline_template_fields
from airflow_mlops.links import GateDecisionLink, RegisteredModelLink


class PromoteModelOperator(PipelineOperator):
    """Judge ``version`` (default: the one the upstream train task registered) against the champion."""

    template_fields = pipeline_template_fields("version")
    operator_extra_links = (GateDecisionLink(), RegisteredModelLink())
    ui_color = "#f3eafa"

    def __init__(
        self,
        *,
        version: str = "{{ ti.xcom_pull(task_ids='train')['version'] }}",
        **kwargs: Any,
    ) -> None:
        super().__init__(ds=None, **kwargs)  # about a window of intervals, not one
        self.version = version

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.model.promote import promote

        decision = promote(self.config, self.lake, self.mlflow, str(self.version)).to_dict()
        context["ti"].xcom_push(key="decision", value=decision)
        self.alert(context, "promotion", decision)
        verdict = "PROMOTED to champion" if decision["promoted"] else "REJECTED, champion unchanged"
        if decision["approval"] == "pending":
            verdict = "PASSED the gate, waiting for a person's approval (champion unchanged until then)"
        self.log.info(
            "%s v%s %s: %s",
            decision["model_name"],
            decision["candidate_version"],
            verdict,
            decision["reason"],
        )
        if decision["promoted"]:
            extra = {"version": decision["candidate_version"], "previous": decision["champion_version"]}
            self.emit(context, {**extra, "reason": decision["reason"]})
        return decision
