"""The Params of every airflow-mlops DAG: what a run accepts, in the UI, the REST API and the CLI.

The DAG factory declares exactly these, and the API guard refuses any other key in a run's conf.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from airflow.sdk import Context, Param
from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    from airflow_mlops.core.foundation.config import PipelineConfig

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def monitor_params(cfg: PipelineConfig) -> dict[str, Param]:
    return {
        "ds": Param(
            [],
            type="array",
            items={"type": "string", "pattern": DATE_PATTERN},
            description="Intervals to score when triggered by hand (YYYY-MM-DD); "
            "asset-triggered runs take them from the validated batches' events.",
        ),
    }


def train_params(cfg: PipelineConfig) -> dict[str, Param]:
    return {
        "reason": Param(
            "scheduled",
            type="string",
            minLength=1,
            maxLength=200,
            description="Why this model is trained; recorded on the model version.",
        ),
        "training_window_days": Param(
            cfg.split.training_window_days,
            type="integer",
            minimum=1,
            maximum=365,
            description="Days of validated data to train on.",
        ),
        "end_date": Param(
            None,
            type=["null", "string"],
            pattern=DATE_PATTERN,
            description="Last day of the window (default: the newest validated batch).",
        ),
        "force": Param(
            False,
            type="boolean",
            description="Retrain even if the window holds exactly the champion's data.",
        ),
    }


def rollback_params(cfg: PipelineConfig) -> dict[str, Param]:
    """A rollback needs a reason (no default: the trigger form asks for it) and may name a version."""
    return {
        "reason": Param(
            type="string",
            minLength=3,
            maxLength=500,
            description="Why the champion is rolled back; recorded on both versions.",
        ),
        "to_version": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d+$",
            description="The version to restore (default: the one the current champion replaced). "
            "It must have been champion once.",
        ),
    }


#: The kinds of DAG a pipeline has, each with its Params.
BY_KIND: dict[str, Callable[[PipelineConfig], dict[str, Param]]] = {
    "ingest": lambda cfg: {},
    "monitor": monitor_params,
    "train": train_params,
    "rollback": rollback_params,
}


def check_conf(context: Context) -> None:
    """Fail the run when its ``conf`` names a Param its DAG does not declare.

    The API guard refuses such a trigger before a run exists; this catches the runs made any other
    way (``airflow dags trigger -c``, ``airflow dags test -c``, backfills), before any work is done.
    """
    dag_run = context["dag_run"]
    declared = set(context["dag"].params)
    unknown = sorted(set(dag_run.conf or {}) - declared)
    if unknown:
        raise AirflowFailException(
            f"{dag_run.dag_id}: unknown param(s) {unknown} in the run's conf; "
            f"this DAG accepts {sorted(declared) or 'no params'}"
        )
