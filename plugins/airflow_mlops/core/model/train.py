"""Train: validated snapshots of a window -> a fitted scikit-learn Pipeline, logged and registered.

The split is by time (the newest part is held out, as it would be in production), seeds are fixed,
and every model version carries its lineage: the snapshots and hashes it was trained on, their
validation, the config hash, the code and library versions, and the Airflow run that made it.
A retried Airflow run finds the version it already registered instead of registering another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.foundation import registry, tracking
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.lock import LakeLock
from airflow_mlops.core.foundation.registry import ModelRegistry, Tag
from airflow_mlops.core.foundation.result import Result
from airflow_mlops.core.model import model_card
from airflow_mlops.core.model.holdout import permutation_importances
from airflow_mlops.core.model.modeling import (
    build_pipeline,
    compute_metrics,
    features_frame,
    predict,
    target_series,
)
from airflow_mlops.core.model.training_data import TrainingData, fingerprint, load_window, split_window
from airflow_mlops.core.model.window import plan_window

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class TrainResult(Result):
    """What a training run produced (or why it did not train)."""

    pipeline: str
    model_name: str
    version: str | None
    run_id: str | None
    skipped: bool
    reused: bool
    reason: str
    metrics: dict[str, float] = field(default_factory=dict)
    window: list[str] = field(default_factory=list)
    train_rows: int = 0
    test_rows: int = 0
    holdout_uri: str | None = None
    reference_uri: str | None = None
    data_fingerprint: str | None = None
    left_out: dict[str, Any] = field(default_factory=dict)  # intervals of the window not trained on, by why


@dataclass(frozen=True)
class Chosen:
    """What a model search (:mod:`core.model.search`) decided before training: the window it searched,
    the pipeline with the winner's estimator and parameters, the search's MLflow run (the version's
    training is logged into it, above its trials) and the search's record for the version."""

    window: list[str]
    model_cfg: PipelineConfig
    parent_run_id: str
    tags: dict[str, str]
    record: dict[str, Any]


def train(
    cfg: PipelineConfig,
    lake: Lake,
    client: MlflowClient,
    *,
    run_key: str,
    reason: str = "scheduled",
    window_days: int | None = None,
    end_ds: str | None = None,
    force: bool = False,
    airflow_context: dict[str, str] | None = None,
    chosen: Chosen | None = None,
) -> TrainResult:
    """Train, log and register one model version for ``cfg`` (idempotent per ``run_key``); with
    ``chosen`` the search's window and winner, and no skip (the search's plan decided that)."""
    exp_id = tracking.ensure_experiment(client, cfg.experiment_name)
    previous = _existing(client, cfg, exp_id, run_key)
    if previous is not None:
        if previous.version:  # a card only if the dead attempt wrote none: it may have moved on since
            model_card.refresh(cfg, lake, client, {previous.version: "candidate"}, only_missing=True)
        return previous
    cat = Catalog(lake, cfg.name)
    days = window_days or cfg.split.training_window_days
    plan = plan_window(cfg, cat, days, chosen.window[-1] if chosen else end_ds)  # logs what is left out
    window = chosen.window if chosen else plan.used
    rows, lineage = load_window(cfg, cat, window)
    fp = fingerprint(lineage, cfg)
    skip = None if force or chosen else nothing_new(cfg, client, window, fp)
    if skip is not None:
        return skip
    data = split_window(cfg, window, lineage, fp, rows)
    model_cfg = chosen.model_cfg if chosen else cfg
    model, metrics = _fit(model_cfg, data)

    from airflow_mlops.core.model.reference import reference_frame

    holdout_uri = lake.write_parquet(cat.holdout_uri(run_key), data.test)
    reference_uri = lake.write_parquet(cat.reference_uri(run_key), reference_frame(cfg, model, data.rows))
    tags = _lineage_tags(cfg, cat, data, reason, force, run_key, airflow_context or {})
    tags |= {
        Tag.HOLDOUT_URI: holdout_uri,
        Tag.REFERENCE_URI: reference_uri,
        Tag.LEFT_OUT: plan.left_out_json(),
    }
    tags[Tag.IMPORTANCES] = json.dumps(
        {k: round(v, 6) for k, v in permutation_importances(cfg, model, data.test).items()}
    )
    params = _params(model_cfg, days, window)
    if chosen:
        tags |= chosen.tags
    # Exclusive and checked again inside: an attempt Airflow gave up on may outlive its killed worker
    # and get here after its retry did; it then finds the retry's version instead of registering another.
    with LakeLock(lake, cat.lock_dir("register"), f"train {run_key}"):
        again = _existing(client, cfg, exp_id, run_key)
        if again is not None:
            return again
        run_id, version = _log_and_register(
            cfg, client, exp_id, model, data, metrics, tags, params, reason, chosen
        )
    model_card.refresh(cfg, lake, client, {version: "candidate"})
    return TrainResult(
        pipeline=cfg.name,
        model_name=cfg.registered_model_name,
        version=version,
        run_id=run_id,
        skipped=False,
        reused=False,
        reason=reason,
        metrics=metrics["test"],
        window=window,
        train_rows=len(data.train),
        test_rows=len(data.test),
        holdout_uri=holdout_uri,
        reference_uri=reference_uri,
        data_fingerprint=fp,
        left_out=plan.left_out(),
    )


def nothing_new(cfg: PipelineConfig, client: MlflowClient, window: list[str], fp: str) -> TrainResult | None:
    """A skip when the champion was trained on exactly these snapshots and config."""
    champ = ModelRegistry(client, cfg.registered_model_name).champion()
    if champ is None or registry.tags_of(champ).get(Tag.FINGERPRINT) != fp:
        return None
    return TrainResult(
        pipeline=cfg.name,
        model_name=cfg.registered_model_name,
        version=None,
        run_id=None,
        skipped=True,
        reused=False,
        reason=f"champion v{champ.version} was trained on exactly these snapshots and config; "
        "nothing to learn (set force=true to retrain anyway)",
        window=window,
        data_fingerprint=fp,
    )


# --- the model ----------------------------------------------------------------------------------
def _fit(cfg: PipelineConfig, data: TrainingData) -> tuple[Any, dict[str, dict[str, float]]]:
    """Fit the pipeline on the training part; metrics on the held-out and the training part."""
    model = build_pipeline(cfg)
    model.fit(features_frame(cfg, data.train), target_series(cfg, data.train))
    metrics = {}
    for part, df in (("test", data.test), ("train", data.train)):
        pred, proba = predict(cfg, model, features_frame(cfg, df))
        metrics[part] = compute_metrics(cfg, target_series(cfg, df), pred, proba)
    return model, metrics


# --- the record ----------------------------------------------------------------------------------
def _lineage_tags(
    cfg: PipelineConfig,
    cat: Catalog,
    data: TrainingData,
    reason: str,
    force: bool,
    run_key: str,
    airflow_context: dict[str, str],
) -> dict[str, str]:
    """What a model version records about where it came from (see :class:`registry.Tag`)."""
    n = len(data.window)
    return {
        Tag.PIPELINE: cfg.name,
        Tag.CONFIG_HASH: cfg.config_hash,
        Tag.CODE_VERSION: tracking.code_version(),
        Tag.RUN_KEY: run_key,
        Tag.DAG_ID: airflow_context.get("dag_id", ""),
        Tag.RUN_ID: airflow_context.get("run_id", ""),
        Tag.REASON: reason,
        Tag.FORCE: str(force).lower(),
        Tag.WINDOW: json.dumps(data.window),
        Tag.SNAPSHOTS: json.dumps([f"{x['ds']}:{(x['hash'] or '')[:16]}" for x in data.lineage]),
        Tag.SOURCE: cat.batches_dir,
        Tag.FINGERPRINT: data.fingerprint,
        Tag.TRAINED_INTERVALS: json.dumps(data.trained_intervals),
        Tag.TRAIN_ROWS: str(len(data.train)),
        Tag.TEST_ROWS: str(len(data.test)),
        Tag.VALIDATION: f"{n} of {n} snapshots validated",
        **{f"{Tag.LIBRARY_PREFIX}{k}": v for k, v in tracking.library_versions().items()},
    }


def _params(cfg: PipelineConfig, days: int, window: list[str]) -> dict[str, str]:
    return {
        "estimator": cfg.model.estimator or "",
        **{f"model.{k}": json.dumps(v) for k, v in sorted(cfg.model.params.items())},
        "features.numeric": ",".join(cfg.features.numeric),
        "features.categorical": ",".join(cfg.features.categorical),
        "split.training_window_days": str(days),
        "split.test_fraction": str(cfg.split.test_fraction),
        "split.seed": str(cfg.split.seed),
        "window.start": window[0],
        "window.end": window[-1],
    }


def skops_types(model: Any) -> list[str]:
    """Types skops does not trust by default in a pipeline we just fitted (trusted by construction)."""
    with registry.quiet_skops():
        import skops.io as sio

        return list(sio.get_untrusted_types(data=sio.dumps(model)))


def _log_and_register(
    cfg: PipelineConfig,
    client: MlflowClient,
    exp_id: str,
    model: Any,
    data: TrainingData,
    metrics: dict[str, dict[str, float]],
    tags: dict[str, str],
    params: dict[str, str],
    reason: str,
    chosen: Chosen | None = None,
) -> tuple[str, str]:
    """One MLflow run (after a search, the search's own, resumed) and its registered version."""
    import mlflow
    import mlflow.data.pandas_dataset
    import pandas as pd
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.models import infer_signature

    target = cfg.data_schema.target
    X_test = features_frame(cfg, data.test)
    run_name = f"train {data.window[-1]} ({reason})"[:250]
    started = (
        mlflow.start_run(run_id=chosen.parent_run_id)
        if chosen
        else mlflow.start_run(experiment_id=exp_id, run_name=run_name)
    )
    with started as run:
        rid = run.info.run_id
        ts = int(pd.Timestamp.now().timestamp() * 1000)
        client.log_batch(
            rid,
            metrics=[Metric(k, v, ts, 0) for k, v in metrics["test"].items()]
            + [Metric(f"train_{k}", v, ts, 0) for k, v in metrics["train"].items()],
            params=[Param(k, v[:6000]) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        for df, source, context in (
            (data.train, tags[Tag.SOURCE], "training"),
            (data.test, tags[Tag.HOLDOUT_URI], "evaluation"),
        ):
            name = f"{cfg.name}-{'train' if context == 'training' else 'holdout'}"
            dataset = mlflow.data.pandas_dataset.from_pandas(df, source=source, targets=target, name=name)
            mlflow.log_input(dataset, context=context)
        mlflow.log_dict({"snapshots": data.lineage, "tags": tags, "params": params}, "lineage.json")
        if chosen:
            mlflow.log_dict(chosen.record, "search.json")
        trusted = skops_types(model)
        with registry.quiet_skops():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=infer_signature(X_test, model.predict(X_test.head(100))),
                input_example=X_test.head(5),
                serialization_format="skops",
                skops_trusted_types=trusted,
                pip_requirements=tracking.model_requirements(),
            )
        version_tags = {
            **tags,
            Tag.TRUSTED_TYPES: json.dumps(trusted),
            **{registry.metric_tag(k): f"{v:.6f}" for k, v in metrics["test"].items()},
        }
        mv = mlflow.register_model(info.model_uri, cfg.registered_model_name, tags=version_tags)
        client.set_tag(rid, Tag.REGISTERED_VERSION, str(mv.version))
    return rid, str(mv.version)


def _existing(
    client: MlflowClient, cfg: PipelineConfig, experiment_id: str, run_key: str
) -> TrainResult | None:
    """The version a previous attempt of the same Airflow run registered, found by its run-key tag (a
    killed worker's RUNNING run may hold a whole version: it is finished here and reused). Runs of
    dead attempts that registered nothing are marked FAILED."""
    name = cfg.registered_model_name
    versions = client.search_model_versions(f"name = '{name}' and tags.`{Tag.RUN_KEY}` = '{run_key}'")
    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.`{Tag.RUN_KEY}` = '{run_key}'", max_results=100
    )
    if not versions:
        for r in runs:
            if r.info.status == "RUNNING":
                client.set_tag(r.info.run_id, Tag.NOTE, "attempt died before registering; retried")
                client.set_terminated(r.info.run_id, status="FAILED")
        return None
    mv = min(versions, key=lambda v: int(v.version))
    r = client.get_run(str(mv.run_id))
    if r.data.tags.get(Tag.REGISTERED_VERSION) != str(mv.version):
        client.set_tag(r.info.run_id, Tag.REGISTERED_VERSION, str(mv.version))
    if r.info.status != "FINISHED":
        client.set_tag(r.info.run_id, Tag.NOTE, "attempt died after registering; finished by its retry")
        client.set_terminated(r.info.run_id, status="FINISHED")
    tags = r.data.tags
    return TrainResult(
        pipeline=cfg.name,
        model_name=name,
        version=str(mv.version),
        run_id=r.info.run_id,
        skipped=False,
        reused=True,
        reason=tags.get(Tag.REASON, ""),
        metrics={k: v for k, v in r.data.metrics.items() if not k.startswith("train_")},
        window=json.loads(tags.get(Tag.WINDOW, "[]")),
        train_rows=int(tags.get(Tag.TRAIN_ROWS, 0)),
        test_rows=int(tags.get(Tag.TEST_ROWS, 0)),
        holdout_uri=tags.get(Tag.HOLDOUT_URI),
        reference_uri=tags.get(Tag.REFERENCE_URI),
        data_fingerprint=tags.get(Tag.FINGERPRINT),
    )
