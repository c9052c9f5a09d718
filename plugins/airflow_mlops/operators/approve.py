"""Human approval of a promotion, with ``gate.approval: required``: ``promote`` only judges (the
decision is recorded as pending, the alias stays), ``approve`` asks a person in Airflow's "Required
Actions", and ``apply_promotion`` records the answer and moves the alias on approval.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk import Context, Param
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowSkipException

from airflow_mlops.base import PipelineOperator, pipeline_template_fields

#: The field of the approval form where a person says why.
COMMENT = "comment"
#: The version the upstream ``promote`` task judged.
JUDGED_VERSION = "{{ ti.xcom_pull(task_ids='promote')['candidate_version'] }}"


class ApprovePromotionOperator(PipelineOperator, ApprovalOperator):
    """Ask a person to approve or reject the candidate that passed the gate, against the champion;
    push the answer (``approved``, ``timed_out``, ``by``, ``at``, ``reason``) to XCom. Skipped when
    the candidate is not waiting for approval. Unlike the stock operator, a Reject (or no answer
    within ``response_timeout``) does not skip downstream: ``ApplyPromotionOperator`` records it.
    """

    template_fields = pipeline_template_fields("version")
    ui_color = "#fff3cd"

    def __init__(
        self,
        *,
        version: str = JUDGED_VERSION,
        response_timeout: timedelta = timedelta(days=1),
        params: ParamsDict | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Airflow passes the DAG's Params merged in; the form is only the task's own field
        # ("comment", not "reason", which is the train DAG's Param of that name).
        del params
        form = ParamsDict(
            {
                COMMENT: Param(
                    "",
                    type="string",
                    maxLength=500,
                    description="Why you approve or reject; recorded on the model version.",
                    source="task",
                )
            }
        )
        super().__init__(
            ds=None,
            subject="Approve a promotion",  # the real question is written at run time
            defaults=ApprovalOperator.REJECT,
            response_timeout=response_timeout,
            params=form,
            **kwargs,
        )
        self.version = version

    def execute(self, context: Context) -> Any:
        from airflow_mlops.core.foundation.registry import ModelRegistry
        from airflow_mlops.core.model.approve import approval_body
        from airflow_mlops.core.model.promote import Approval, recorded_decision

        cfg, client = self.config, self.mlflow
        name, version = cfg.registered_model_name, str(self.version)
        d = recorded_decision(cfg, ModelRegistry(client, name).tags(version))
        if d is None or d.approval != Approval.PENDING:
            state = "never judged" if d is None else (d.approval or "decided by the gate alone")
            raise AirflowSkipException(f"{name} v{version} is not waiting for approval ({state})")
        score = "n/a" if d.candidate_score is None else f"{d.candidate_score:.4f}"
        against = (
            f"champion v{d.champion_version} {d.champion_score:.4f}"
            if d.champion_version and d.champion_score is not None
            else "no champion yet"
        )
        self.subject = f"{cfg.name}: promote {name} v{version} to champion? {d.metric} {score} vs {against}"
        self.body = approval_body(cfg, self.lake, client, d)
        self.log.info("Waiting for a person: %s", self.subject)
        self.alert(context, "approval", d.to_dict())
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """The answer as small JSON; a Reject or a timeout is an answer, not a reason to skip."""
        ret = HITLOperator.execute_complete(self, context=context, event=event)
        user = ret.get("responded_by_user") or {}
        at = ret.get("responded_at")
        answer = {
            "approved": ret["chosen_options"] == [self.APPROVE],
            "timed_out": bool(event.get("timedout")),
            "by": str(user.get("name") or user.get("id") or ""),
            "at": at.isoformat() if hasattr(at, "isoformat") else str(at or ""),
            "reason": str((ret.get("params_input") or {}).get(COMMENT) or ""),
        }
        self.log.info("Answer: %s", answer)
        return answer


class ApplyPromotionOperator(PipelineOperator):
    """Record the person's answer on the candidate and, on approval, move the ``champion`` alias,
    under the champion lock and only if the champion is still the one the gate judged against."""

    template_fields = pipeline_template_fields("version")
    ui_color = "#f3eafa"

    def __init__(
        self, *, version: str = JUDGED_VERSION, approval_task_id: str = "approve", **kwargs: Any
    ) -> None:
        super().__init__(ds=None, **kwargs)
        self.version = version
        self.approval_task_id = approval_task_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.model.approve import approve

        answer = context["ti"].xcom_pull(task_ids=self.approval_task_id)
        if not isinstance(answer, dict) or "approved" not in answer:
            raise ValueError(f"task {self.approval_task_id!r} left no answer in XCom (found {answer!r})")
        decision = approve(
            self.config,
            self.lake,
            self.mlflow,
            str(self.version),
            approved=bool(answer["approved"]),
            by=answer.get("by") or "unknown",
            reason=answer.get("reason") or "",
            timed_out=bool(answer.get("timed_out")),
        ).to_dict()
        context["ti"].xcom_push(key="decision", value=decision)
        self.log.info(
            "%s v%s %s by %s: %s",
            decision["model_name"],
            decision["candidate_version"],
            "PROMOTED to champion" if decision["promoted"] else f"NOT promoted ({decision['approval']})",
            decision["approval_by"],
            decision["approval_reason"],
        )
        if decision["promoted"]:
            extra = {"version": decision["candidate_version"], "previous": decision["champion_version"]}
            self.emit(
                context, {**extra, "reason": decision["reason"], "approved_by": decision["approval_by"]}
            )
        return decision
