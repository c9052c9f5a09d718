"""The DAG factory: each pipeline YAML becomes four DAGs (ingest, monitor, train, rollback).

This module runs at every DAG parse, so it imports only Airflow's SDK and our config schema.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import (
    DAG,
    Asset,
    AssetAlias,
    AssetOrTimeSchedule,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    task,
)

from airflow_mlops.core.foundation.config import PipelineConfig, folder_problem, load_pipelines
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.foundation.settings import get_settings
from airflow_mlops.params import monitor_params, rollback_params, train_params

log = logging.getLogger(__name__)
ROLES = ("snapshot", "validated", "drift", "champion")

#: The DAGs each pipeline has; their ids are ``<pipeline>__<kind>`` (:func:`dag_id`).
KINDS = ("ingest", "monitor", "train", "rollback")
_SEP = "__"


def dag_id(pipeline: str, kind: str) -> str:
    """The id of ``pipeline``'s DAG of ``kind`` (one of :data:`KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"DAG kind {kind!r} of pipeline {pipeline!r}: expected one of {KINDS}")
    return f"{pipeline}{_SEP}{kind}"


def parse_dag_id(value: str) -> tuple[str, str] | None:
    """(pipeline, kind) of a DAG id :func:`dag_id` made, or None for a DAG that is not ours."""
    pipeline, sep, kind = value.rpartition(_SEP)
    return (pipeline, kind) if sep and pipeline and kind in KINDS else None


def assets(cfg: PipelineConfig) -> dict[str, Asset]:
    """The pipeline's Assets, by role; these names are what users see in the Assets view.

    Name-only Assets (no ``scheme://`` URI): a URI with a scheme makes Airflow load every
    provider's asset URI handlers at each parse (boto3 among them, about half a second).
    """
    return {role: Asset(name=f"{cfg.name}.{role}", group="mlops") for role in ROLES}


def _common(cfg: PipelineConfig, kind: str) -> dict[str, Any]:
    """DAG arguments every DAG of a pipeline shares."""
    t = cfg.tasks
    return {
        "dag_id": dag_id(cfg.name, kind),
        "start_date": _midnight(cfg.schedules.start_date),
        "default_args": {
            "owner": cfg.owner,
            "retries": t.retries,
            "retry_delay": timedelta(seconds=t.retry_delay_seconds),
            "retry_exponential_backoff": t.retry_backoff,
            "max_retry_delay": timedelta(seconds=t.max_retry_delay_seconds),
            "execution_timeout": timedelta(minutes=t.timeout_minutes),
        },
        "tags": ["airflow-mlops", cfg.name, kind, *cfg.tags],
        # Only dags/mlops_pipelines.py exposes them (its globals); a builder called elsewhere
        # (dags/mlops_config_errors.py, a test) must not register them a second time.
        "auto_register": False,
        **_failure_alerts(cfg),
    }


def _failure_alerts(cfg: PipelineConfig) -> dict[str, Any]:
    """A failed run of any of the pipeline's DAGs is alerted, when its ``alerts`` ask for it."""
    if not cfg.alerts.wants("run_failed"):
        return {}
    from airflow_mlops.notifiers.alerts import MlopsNotifier

    return {"on_failure_callback": [MlopsNotifier(pipeline=cfg.name, alerts=cfg.alerts)]}


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _end(cfg: PipelineConfig) -> datetime | None:
    """The end of the last day of ``schedules.end_date``: its interval still runs."""
    d = cfg.schedules.end_date
    return _midnight(d) + timedelta(days=1) if d else None


def ingest_dag(cfg: PipelineConfig) -> DAG:
    from airflow_mlops.operators import IngestOperator, ValidateDataOperator
    from airflow_mlops.sensors import DataAvailableSensor

    a = assets(cfg)
    with DAG(
        **_common(cfg, "ingest"),
        description=f"{cfg.name}: wait for each interval's raw data, snapshot it, validate it",
        schedule=CronDataIntervalTimetable(cfg.schedules.ingest, timezone="UTC"),
        end_date=_end(cfg),
        catchup=cfg.schedules.catchup,
        max_active_runs=4,
        doc_md=f"**{cfg.name}** ingest. {cfg.description}\n\nRaw data: `{cfg.source.shown_uri}`",
    ) as dag:
        wait = DataAvailableSensor(
            task_id="wait_for_data",
            pipeline=cfg.name,
            poke_interval=cfg.source.poke_interval_seconds,
            timeout=cfg.source.timeout_minutes * 60,
        )
        snap = IngestOperator(
            task_id="ingest", pipeline=cfg.name, asset=a["snapshot"], outlets=[a["snapshot"]]
        )
        check = ValidateDataOperator(
            task_id="validate",
            pipeline=cfg.name,
            asset=a["validated"],
            outlets=[AssetAlias(name=f"{cfg.name}.validated-alias")],
            # One validation of a pipeline at a time: two first events through a new AssetAlias
            # at once fail one task in Airflow 3.3 (asset_alias_asset_pkey, docs/decisions.md).
            max_active_tis_per_dag=1,
        )
        wait >> snap >> check
    return dag


def monitor_dag(cfg: PipelineConfig) -> DAG:
    from airflow_mlops.operators import BatchPredictOperator, DriftReportOperator

    a = assets(cfg)
    with DAG(
        **_common(cfg, "monitor"),
        description=f"{cfg.name}: score each validated batch with the champion and report drift",
        schedule=[a["validated"]],
        catchup=False,
        max_active_runs=1,
        params=monitor_params(cfg),
        doc_md=f"**{cfg.name}** monitoring: batch predictions and Evidently drift reports.",
    ) as dag:

        @task
        def batches() -> list[str]:
            """Its triggering events' intervals (or the ``ds`` Param) and any validated batch newer
            than the last scored one."""
            from airflow.sdk import get_current_context

            from airflow_mlops.operators.predict import intervals_to_score

            return intervals_to_score(cfg, get_current_context())

        days = batches()
        scored = BatchPredictOperator.partial(task_id="predict", pipeline=cfg.name).expand(ds=days)
        drift = DriftReportOperator.partial(
            task_id="drift_report",
            pipeline=cfg.name,
            asset=a["drift"],
            outlets=[AssetAlias(name=f"{cfg.name}.drift-alias")],
        ).expand(ds=days)
        scored >> drift
    return dag


def train_dag(cfg: PipelineConfig) -> DAG:
    """``train >> promote``; with ``gate.approval: required``, ``>> approve >> apply_promotion``;
    with ``model.search``, ``train`` follows ``plan >> trial`` (:func:`_search_tasks`)."""
    from airflow_mlops.operators import PromoteModelOperator, TrainModelOperator

    a = assets(cfg)
    approval = cfg.gate.approval == "required"
    gate_doc = (
        f"**{cfg.name}** training. Gate: `{cfg.gate.metric}` >= {cfg.gate.minimum}, "
        f"strictly better than the champion by >= {cfg.gate.min_improvement}."
    )
    if approval:
        gate_doc += (
            f" A candidate that passes waits for a person's approval (Required Actions), "
            f"at most {cfg.gate.approval_timeout_minutes} minutes; no answer is a rejection."
        )
    if cfg.model.search is not None:
        s = cfg.model.search
        gate_doc += (
            f"\n\nModel search: at most {s.trials} trials of {len(s.candidates)} candidates, "
            f"{s.minutes:g} minutes, scored by `{cfg.gate.metric}` over {s.folds} time-ordered folds; "
            "`train` trains the best (see its MLflow run's nested trial runs)."
        )
    schedule: Any = [a["drift"]]
    if cfg.schedules.train:
        schedule = AssetOrTimeSchedule(
            timetable=CronTriggerTimetable(cfg.schedules.train, timezone="UTC"), assets=a["drift"]
        )
    with DAG(
        **_common(cfg, "train"),
        description=f"{cfg.name}: train a candidate and promote it only through the gate",
        schedule=schedule,
        catchup=False,
        max_active_runs=1,
        params=train_params(cfg),
        doc_md=gate_doc,
    ) as dag:
        if cfg.model.search is None:
            trained = TrainModelOperator(task_id="train", pipeline=cfg.name)
        else:
            trained = _search_tasks(cfg)
        promoted = PromoteModelOperator(
            task_id="promote",
            pipeline=cfg.name,
            asset=a["champion"],
            outlets=[AssetAlias(name=f"{cfg.name}.champion-alias")],
        )
        trained >> promoted
        if approval:
            from airflow_mlops.operators import ApplyPromotionOperator, ApprovePromotionOperator

            asked = ApprovePromotionOperator(
                task_id="approve",
                pipeline=cfg.name,
                response_timeout=timedelta(minutes=cfg.gate.approval_timeout_minutes),
            )
            applied = ApplyPromotionOperator(
                task_id="apply_promotion",
                pipeline=cfg.name,
                asset=a["champion"],
                outlets=[AssetAlias(name=f"{cfg.name}.champion-approved-alias")],
            )
            promoted >> asked >> applied
    return dag


def _search_tasks(cfg: PipelineConfig) -> Any:
    """``plan >> trial (mapped, one per trial) >> train``; returns ``train``, which runs when no
    trial failed (``none_failed``): trials skipped by the minutes budget do not stop it, and when
    the plan found nothing new to learn, ``train`` shows the plan's reason."""
    from airflow_mlops.operators import PlanSearchOperator, SearchTrialOperator, TrainModelOperator

    plan = PlanSearchOperator(task_id="plan", pipeline=cfg.name)
    trials = SearchTrialOperator.partial(
        task_id="trial",
        pipeline=cfg.name,
        map_index_template="trial {{ task.trial['index'] }}: {{ task.trial['estimator'].split('.')[-1] }}",
    ).expand(trial=plan.output)
    trained = TrainModelOperator(
        task_id="train", pipeline=cfg.name, plan_task_id="plan", trigger_rule="none_failed"
    )
    plan >> trials >> trained
    return trained


def rollback_dag(cfg: PipelineConfig) -> DAG:
    """Run by hand (UI, REST API, CLI): give the champion back to the version it replaced."""
    from airflow_mlops.operators import RollbackOperator

    a = assets(cfg)
    with DAG(
        **_common(cfg, "rollback"),
        description=f"{cfg.name}: restore the previous champion (or a named version), recording who and why",
        schedule=None,
        catchup=False,
        max_active_runs=1,
        params=rollback_params(cfg),
        doc_md=f"**{cfg.name}** rollback. Trigger with a `reason` (and optionally `to_version`); the "
        "`champion` alias goes back to the version the current champion replaced. Same as "
        f"`airflow-mlops rollback {cfg.name} --reason ...`.",
    ) as dag:
        RollbackOperator(task_id="rollback", pipeline=cfg.name, asset=a["champion"], outlets=[a["champion"]])
    return dag


BUILDERS = (ingest_dag, monitor_dag, train_dag, rollback_dag)


def build_dags(pipelines_dir: Path | None = None) -> dict[str, DAG]:
    """Every valid pipeline's DAGs by dag_id. An invalid one is left out, never raised here (Airflow
    drops every DAG of a file that raises): :func:`raise_config_errors` raises it, from its own file."""
    good, _bad = load_pipelines(pipelines_dir or get_settings().pipelines_dir)
    dags: dict[str, DAG] = {}
    for cfg in good:
        try:
            dags.update({d.dag_id: d for d in (build(cfg) for build in BUILDERS)})
        except Exception as e:  # a check the config missed must still spare the other pipelines
            log.error(
                "%s: Airflow refused its DAGs: %s: %s; its DAGs are left out", cfg.name, type(e).__name__, e
            )
    return dags


def config_errors(pipelines_dir: Path | None = None) -> list[str]:
    """Each problem of the pipelines folder, one line each, naming the file and the field: invalid
    files, pipelines whose DAGs Airflow refuses, and a missing or empty folder."""
    folder = pipelines_dir or get_settings().pipelines_dir
    if empty := folder_problem(folder):
        return [empty]
    good, bad = load_pipelines(folder)
    errors = [line for e in bad for line in str(e).splitlines()]
    for cfg in good:
        try:
            _airflow_parts(cfg)
        except Exception as e:  # whatever Airflow refuses, named, instead of a missing pipeline
            errors.append(f"{folder / cfg.name}.yaml: Airflow refused its DAGs: {type(e).__name__}: {e}")
    return errors


def _airflow_parts(cfg: PipelineConfig) -> None:
    """Build and validate what Airflow makes from the config's values (timetables, durations, DAG
    arguments) without the DAGs: a tenth of the cost of a dry build (docs/decisions.md)."""
    CronDataIntervalTimetable(cfg.schedules.ingest, timezone="UTC").validate()
    if cfg.schedules.train:
        CronTriggerTimetable(cfg.schedules.train, timezone="UTC").validate()
    _common(cfg, "ingest")  # the arguments all four DAGs share; only their ids and tags differ
    _end(cfg)


def raise_config_errors(pipelines_dir: Path | None = None) -> None:
    """Raise one ConfigError listing every problem, so that the DAG file calling this shows them
    as its import error while the valid pipelines' DAGs (another file) stay."""
    errors = config_errors(pipelines_dir)
    if errors:
        files = sorted({line.split(": ", 1)[0] for line in errors})
        raise ConfigError(
            f"{len(errors)} problem(s) in {len(files)} pipeline file(s); their DAGs are left out, "
            "the other pipelines run:\n" + "\n".join(errors)
        )
