"""The base of every airflow-mlops task, operators and sensors alike (after the Amazon provider's
``AwsBaseOperator``): its pipeline, the interval it works on, and the clients it needs.

Nothing is loaded or connected in ``__init__``, which runs at every DAG parse: the pipeline's YAML,
the lake and the MLflow client are cached properties, built the first time ``execute`` asks.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from functools import cached_property, wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from airflow.sdk import Asset, AssetAlias, BaseOperator, BaseSensorOperator, Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airflow_mlops.core.foundation.errors import MlopsError, Outcome

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from airflow_mlops.core.foundation.config import PipelineConfig
    from airflow_mlops.core.foundation.lake import Lake

#: A task's default interval, as YYYY-MM-DD; runs without a data interval (asset-triggered) pass ``ds``.
INTERVAL_START = "{{ data_interval_start | ds }}"


def rendered(value: Any) -> str | None:
    """A rendered template's value, or None when it rendered to nothing (an unset Param)."""
    return None if value in (None, "", "None") else str(value)


F = TypeVar("F", bound=Callable[..., Any])

#: What Airflow calls of a task: an operator's, a sensor's, and a deferred task's resumption.
ENTRY_POINTS = ("execute", "poke", "execute_complete")


def refusal(error: str, message: str) -> AirflowFailException:
    """The failure without retry of a permanent error of class ``error``: what the log shows."""
    return AirflowFailException(f"{error} (permanent, not retried): {message}")


def to_airflow(error: MlopsError, outcomes: Mapping[type[MlopsError], Outcome] | None = None) -> Exception:
    """What Airflow is given for ``error`` by its class's ``airflow_outcome`` (or the first entry of
    ``outcomes`` it is an instance of): a fail or skip exception, or the error itself to retry."""
    outcome = next(
        (o for cls, o in (outcomes or {}).items() if isinstance(error, cls)), error.airflow_outcome
    )
    if outcome == "fail":
        return refusal(type(error).__name__, str(error))
    if outcome == "skip":
        return AirflowSkipException(f"{type(error).__name__}: {error}")
    return error


def translate_errors(func: F, outcomes: Mapping[type[MlopsError], Outcome] | None = None) -> F:
    """``func``, with an airflow-mlops error turned once into what :func:`to_airflow` says, the
    original chained; other exceptions go through as they are, so retries and backoff apply.
    :class:`PipelineOperator` applies it to every entry point (the operator's ``error_outcomes``,
    read when it raises so a subclass's own word counts, come first); the DAG factory to its ``@task``."""
    if getattr(func, "__mlops_translated__", False):
        return func

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MlopsError as e:
            own = outcomes
            if own is None and args and isinstance(args[0], PipelineOperator):
                own = args[0].error_outcomes
            raised = to_airflow(e, own)
            if raised is e:
                raise
            raise raised from e

    wrapper.__mlops_translated__ = True  # type: ignore[attr-defined]
    return cast("F", wrapper)


def pipeline_template_fields(*extra: str) -> tuple[str, ...]:
    """The templated fields every airflow-mlops task has, then the class's own."""
    return ("pipeline", "ds", *extra)


class PipelineOperator(BaseOperator):
    """Base of the airflow-mlops operators: ``config``, ``lake``, ``mlflow``, ``run_key()``,
    ``emit()`` and ``alert()`` for its ``pipeline``; ``asset`` is the Asset whose event the task
    emits, if any."""

    template_fields: Collection[str] = pipeline_template_fields()
    #: Where an operator's outcome for an error class differs from the class's ``airflow_outcome``
    #: (a rollback with no champion fails; scoring with none skips). Empty for most.
    error_outcomes: Mapping[type[MlopsError], Outcome] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """The rule of :func:`translate_errors` lives here, not in each operator."""
        super().__init_subclass__(**kwargs)
        for name in ENTRY_POINTS:
            if callable(method := vars(cls).get(name)):
                setattr(cls, name, translate_errors(method))

    def __init__(
        self,
        *,
        pipeline: str,
        ds: str | None = INTERVAL_START,
        asset: Asset | None = None,
        mlflow_conn_id: str = "mlflow_default",
        lake_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.ds = ds
        self.asset = asset
        self.mlflow_conn_id = mlflow_conn_id
        #: None: the deployment's ``AIRFLOW_MLOPS_LAKE_CONN_ID``, else no connection (local lake).
        self.lake_conn_id = lake_conn_id

    def pre_execute(self, context: Any) -> None:
        """Before any work: a run whose conf names an undeclared Param fails here."""
        from airflow_mlops.params import check_conf

        check_conf(context)

    @cached_property
    def config(self) -> PipelineConfig:
        """The pipeline's YAML, read when the task runs (``AIRFLOW_MLOPS_PIPELINES_DIR``)."""
        from airflow_mlops.core.foundation.config import load_pipeline
        from airflow_mlops.core.foundation.settings import get_settings

        return load_pipeline(get_settings().pipelines_dir / f"{self.pipeline}.yaml")

    @cached_property
    def lake(self) -> Lake:
        from airflow_mlops.hooks.lake import LakeHook

        return LakeHook(self.lake_conn_id).get_lake()

    @cached_property
    def mlflow(self) -> MlflowClient:
        from airflow_mlops.core.foundation.tracking import log_to_stdout
        from airflow_mlops.hooks.mlflow import MlflowHook

        client = MlflowHook(self.mlflow_conn_id).get_client()
        log_to_stdout()
        return client

    @staticmethod
    def run_key(context: Context) -> str:
        """``<dag_id>/<run_id>``: what MLflow records of this run, and how a retry finds its own work."""
        return f"{context['dag_run'].dag_id}/{context['dag_run'].run_id}"

    def alert(self, context: Context, event: str, data: Mapping[str, Any]) -> None:
        """Tell the pipeline's receivers of ``event`` (a key of ``core.alerts.BUILDERS``) from its
        result ``data``. A no-op without ``alerts`` in the YAML; never raises, because a chat or mail
        outage must not fail the task that found the event (delivery errors are logged)."""
        try:
            alerts = self.config.alerts
            if not alerts.enabled:
                return
            from airflow_mlops.core.presentation.alerts import BUILDERS
            from airflow_mlops.notifiers.alerts import MlopsNotifier, view_base

            built = BUILDERS[event]({"pipeline": self.pipeline, **data}, view_base(alerts))
            if built is not None:
                MlopsNotifier(pipeline=self.pipeline, alerts=alerts, alert=built).notify(context)
        except Exception:
            self.log.exception("Alert %r of %s not sent", event, self.pipeline)

    def emit(self, context: Context, extra: dict[str, Any]) -> None:
        """An event of the task's ``asset`` with ``extra`` (None values left out); nothing without one.
        Directly when ``asset`` is an outlet, else through the task's AssetAlias outlets: that is
        how an event is emitted only when a condition holds."""
        if self.asset is None:
            return
        extra = {k: v for k, v in extra.items() if v is not None}
        for outlet in self.outlets:
            if outlet == self.asset:
                context["outlet_events"][outlet].extra = extra
            elif isinstance(outlet, AssetAlias):
                context["outlet_events"][outlet].add(self.asset, extra=extra)


class WindowOperator(PipelineOperator):
    """Base of the tasks about a window of intervals, not one (training, planning a search): the
    train DAG's window Params, templated."""

    template_fields: Collection[str] = pipeline_template_fields("window_days", "window_end", "force")

    def __init__(
        self,
        *,
        window_days: str | int | None = "{{ params.training_window_days }}",
        window_end: str | None = "{{ params.end_date or '' }}",
        force: str | bool = "{{ params.force }}",
        **kwargs: Any,
    ) -> None:
        super().__init__(ds=None, **kwargs)
        self.window_days, self.window_end, self.force = window_days, window_end, force

    def window(self) -> dict[str, Any]:
        """The rendered Params as core's ``window_days``, ``end_ds`` and ``force``."""
        days = rendered(self.window_days)
        return {
            "window_days": int(days) if days else None,
            "end_ds": rendered(self.window_end),
            "force": str(self.force).lower() == "true",
        }


class PipelineSensor(PipelineOperator, BaseSensorOperator):
    """Base of the airflow-mlops sensors: a sensor with everything a pipeline operator has."""
