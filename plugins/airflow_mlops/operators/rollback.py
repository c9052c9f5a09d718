"""RollbackOperator: give the ``champion`` alias back to the previous champion, from a DAG run."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from airflow_mlops.base import PipelineOperator, pipeline_template_fields
from airflow_mlops.core.foundation.errors import NoChampionError


class RollbackOperator(PipelineOperator):
    """Restore the version the current champion replaced (or ``to_version``), recording why and who
    (the user who triggered the run, else "airflow"). No champion is a skip elsewhere but a failure
    here: the person who asked for a rollback must hear that there was nothing to roll back.
    """

    template_fields = pipeline_template_fields("reason", "to_version")
    error_outcomes = {NoChampionError: "fail"}
    ui_color = "#fde2e1"

    def __init__(
        self,
        *,
        reason: str = "{{ params.reason }}",
        to_version: str | None = "{{ params.to_version or '' }}",
        **kwargs: Any,
    ) -> None:
        super().__init__(ds=None, **kwargs)
        self.reason = reason
        self.to_version = to_version

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.model.rollback import rollback

        by = getattr(context["dag_run"], "triggering_user_name", None) or "airflow"
        to = str(self.to_version).strip() if self.to_version not in (None, "", "None") else None
        done = rollback(self.config, self.lake, self.mlflow, reason=str(self.reason), by=by, to=to)
        self.log.info(
            "%s: champion v%s -> v%s, rolled back by %s: %s",
            done.model_name,
            done.from_version,
            done.to_version,
            done.by,
            done.reason,
        )
        extra = {"version": done.to_version, "previous": done.from_version, "reason": done.reason}
        self.emit(context, {**extra, "rollback": True})
        self.alert(context, "rollback", done.to_dict())
        return done.to_dict()
