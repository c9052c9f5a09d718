"""Extra links on task instances: from a task to what it made, in the MLOps view or in MLflow.

Airflow 3 computes each link in the worker when the task ends (``get_link``) and keeps it in XCom;
the api-server only shows it. A link reads the task's own result from XCom (pushed before a
failure is raised, so a failed validation still links to its report) and is empty when there is
nothing to show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


def view_url(path: str) -> str:
    """A page of the MLOps view, under the api-server's public URL (``[api] base_url``)."""
    from airflow.configuration import conf

    base = str(conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return f"{base}/mlops/{path}"


def version_url(pipeline: str, version: Any) -> str:
    """A model version's page in the view ('' without a version)."""
    return view_url(f"pipelines/{quote(pipeline)}/versions/{quote(str(version))}") if version else ""


def mlflow_hook(operator: BaseOperator) -> Any:
    """The task's MlflowHook (its ``mlflow_conn_id``)."""
    from airflow_mlops.hooks import MlflowHook

    return MlflowHook(getattr(operator, "mlflow_conn_id", "mlflow_default"))


class _ResultLink(BaseOperatorLink):
    """A link built from one XCom value the task pushed (``key``)."""

    key: ClassVar[str] = "return_value"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        result = XCom.get_value(ti_key=ti_key, key=self.key)
        if not isinstance(result, dict):
            return ""
        return self.url(operator, str(getattr(operator, "pipeline", "")), result)

    def url(self, operator: BaseOperator, pipeline: str, result: dict[str, Any]) -> str:
        raise NotImplementedError


class ModelVersionLink(_ResultLink):
    name = "Model version (MLOps)"
    key = "training"

    def url(self, operator: BaseOperator, pipeline: str, result: dict[str, Any]) -> str:
        return version_url(pipeline, result.get("version"))


class MlflowRunLink(_ResultLink):
    name = "MLflow run"
    key = "training"

    def url(self, operator: BaseOperator, pipeline: str, result: dict[str, Any]) -> str:
        hook, run_id = mlflow_hook(operator), result.get("run_id")
        ui = hook.ui_url()
        if not ui or not run_id:
            return ""
        exp = hook.get_client().get_run(run_id)
        return f"{ui}/#/experiments/{exp.info.experiment_id}/runs/{run_id}"


class GateDecisionLink(_ResultLink):
    name = "Gate decision (MLOps)"
    key = "decision"

    def url(self, operator: BaseOperator, pipeline: str, result: dict[str, Any]) -> str:
        return version_url(pipeline, result.get("candidate_version"))


class RegisteredModelLink(_ResultLink):
    name = "Registered model (MLflow)"
    key = "decision"

    def url(self, operator: BaseOperator, pipeline: str, result: dict[str, Any]) -> str:
        ui, name = mlflow_hook(operator).ui_url(), result.get("model_name")
        return f"{ui}/#/models/{quote(str(name))}" if ui and name else ""


class ValidationLink(_ResultLink):
    name = "Validation (MLOps)"
    key = "validation"

    def url(self, operator: BaseOperator, pipeline: str, result: dict[str, Any]) -> str:
        ds = result.get("ds")
        if not ds:
            return ""
        page = "validation/docs/index.html" if result.get("docs_uri") else "validation/result.json"
        return view_url(f"pipelines/{quote(pipeline)}/batches/{quote(str(ds))}/files/{page}")


class DriftReportLink(_ResultLink):
    name = "Drift report (MLOps)"

    def url(self, operator: BaseOperator, pipeline: str, result: dict[str, Any]) -> str:
        ds = result.get("ds")
        return view_url(f"pipelines/{quote(pipeline)}/batches/{quote(str(ds))}/drift") if ds else ""


#: One of each, in the order above: what the plugin registers.
ALL = tuple(link() for link in _ResultLink.__subclasses__())
