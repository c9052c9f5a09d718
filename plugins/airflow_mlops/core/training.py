"""Train: validated snapshots of a window -> a fitted scikit-learn Pipeline, logged and registered.

The split is by time (the newest part is held out, as it would be in production), seeds are fixed,
and every model version carries its lineage: the snapshots and hashes it was trained on, their
validation, the config hash, the code and library versions, and the Airflow run that made it.
A retried Airflow run finds the version it already registered instead of registering another.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from airflow_mlops.core import tracking
from airflow_mlops.core.config import PipelineConfig
from airflow_mlops.core.errors import DataNotFoundError
from airflow_mlops.core.lake import Lake
from airflow_mlops.core.modeling import (
    PREDICTION,
    PROBABILITY,
    build_pipeline,
    compute_metrics,
    features_frame,
    predict,
    target_series,
)

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient


@dataclass(frozen=True)
class TrainResult:
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_dir_name(run_key: str) -> str:
    """A lake-safe directory name for an Airflow run key."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_key)[:200]


def select_window(cfg: PipelineConfig, lake: Lake, window_days: int, end_ds: str | None = None) -> list[str]:
    """Validated intervals within ``window_days`` days up to ``end_ds`` (default: the newest one)."""
    from airflow_mlops.core.validation import validated_batches

    batches = validated_batches(lake, cfg.name)
    if end_ds:
        batches = [b for b in batches if b <= end_ds]
    if not batches:
        where = f" up to {end_ds}" if end_ds else ""
        raise DataNotFoundError(f"{cfg.name}: no validated batches{where} in {lake.uri(cfg.name, 'batches')}")
    end = date.fromisoformat(end_ds or batches[-1])
    start = (end - timedelta(days=window_days - 1)).isoformat()
    return [b for b in batches if start <= b <= end.isoformat()]


def load_window(
    cfg: PipelineConfig, lake: Lake, window: list[str]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Concatenate the window's snapshots (only needed columns) and describe each for lineage."""
    import pandas as pd

    from airflow_mlops.core.snapshot import manifest, read_parquet, snapshot_uri

    needed = list(dict.fromkeys([*cfg.features.all, cfg.data_schema.target, cfg.data_schema.time_column]))
    needed += [c for c in cfg.drift_columns if c not in needed]
    frames, lineage = [], []
    for ds in window:
        m = manifest(lake, cfg.name, ds) or {}
        uri = snapshot_uri(lake, cfg.name, ds)
        frames.append(read_parquet(lake, uri, needed))
        lineage.append({"ds": ds, "uri": uri, "hash": m.get("content_hash"), "rows": m.get("rows")})
    df = pd.concat(frames, ignore_index=True)
    df = df[df[cfg.data_schema.target].notna()]
    return df.sort_values(cfg.data_schema.time_column, kind="stable").reset_index(drop=True), lineage


def fingerprint(lineage: list[dict[str, Any]], cfg: PipelineConfig) -> str:
    """Same snapshots + same config = same fingerprint: retraining on it would change nothing."""
    blob = json.dumps([[x["ds"], x["hash"]] for x in lineage] + [cfg.config_hash]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _existing(
    client: MlflowClient, cfg: PipelineConfig, experiment_id: str, run_key: str
) -> TrainResult | None:
    """The version a previous attempt of the same Airflow run already registered, if any."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{tracking.TAG_RUN_KEY}` = '{run_key}' and attributes.status = 'FINISHED'",
        max_results=1,
    )
    if not runs or "registered_version" not in runs[0].data.tags:
        return None
    r = runs[0]
    return TrainResult(
        pipeline=cfg.name,
        model_name=cfg.registered_model_name,
        version=r.data.tags["registered_version"],
        run_id=r.info.run_id,
        skipped=False,
        reused=True,
        reason=r.data.tags.get("train.reason", ""),
        metrics={k: v for k, v in r.data.metrics.items() if not k.startswith("train_")},
        window=json.loads(r.data.tags.get("data.window", "[]")),
        train_rows=int(r.data.tags.get("data.train_rows", 0)),
        test_rows=int(r.data.tags.get("data.test_rows", 0)),
        holdout_uri=r.data.tags.get("data.holdout_uri"),
        reference_uri=r.data.tags.get("data.reference_uri"),
        data_fingerprint=r.data.tags.get("data.fingerprint"),
    )


def skops_types(model: Any) -> list[str]:
    """Types skops does not trust by default that our own fitted pipeline contains.

    Models are stored with skops (no code runs at load, unlike pickle). A model we just fitted
    ourselves is trusted by construction, so its non-default types are recorded with it.
    """
    import skops.io as sio

    return list(sio.get_untrusted_types(data=sio.dumps(model)))


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
) -> TrainResult:
    """Train, log and register one model version for ``cfg`` (idempotent per ``run_key``)."""
    import mlflow
    import mlflow.data.pandas_dataset
    import pandas as pd
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.models import infer_signature

    from airflow_mlops.core.snapshot import to_parquet_bytes

    name = cfg.registered_model_name
    exp_id = tracking.ensure_experiment(client, cfg.experiment_name)
    previous = _existing(client, cfg, exp_id, run_key)
    if previous is not None:
        return previous

    days = window_days or cfg.split.training_window_days
    window = select_window(cfg, lake, days, end_ds)
    df, lineage = load_window(cfg, lake, window)
    fp = fingerprint(lineage, cfg)
    champ = tracking.champion(client, name)
    if champ is not None and not force and tracking.tags_of(champ).get("data.fingerprint") == fp:
        return TrainResult(
            pipeline=cfg.name,
            model_name=name,
            version=None,
            run_id=None,
            skipped=True,
            reused=False,
            reason=f"champion v{champ.version} was trained on exactly these snapshots and config; "
            "nothing to learn (set force=true to retrain anyway)",
            window=window,
            data_fingerprint=fp,
        )
    n = len(df)
    if n < cfg.split.min_training_rows:
        raise DataNotFoundError(
            f"{cfg.name}: {n} labelled rows in {window[0]}..{window[-1]}, fewer than "
            f"split.min_training_rows={cfg.split.min_training_rows}"
        )
    cut = int(n * (1 - cfg.split.test_fraction))
    train_df, test_df = df.iloc[:cut], df.iloc[cut:]
    X_train, y_train = features_frame(cfg, train_df), target_series(cfg, train_df)
    X_test, y_test = features_frame(cfg, test_df), target_series(cfg, test_df)
    if cfg.data_schema.task == "classification" and y_train.nunique() < 2:
        raise DataNotFoundError(
            f"{cfg.name}: the training window {window[0]}..{window[-1]} has a single class"
        )

    model = build_pipeline(cfg)
    model.fit(X_train, y_train)
    pred, proba = predict(cfg, model, X_test)
    test_metrics = compute_metrics(cfg, y_test, pred, proba)
    tr_pred, tr_proba = predict(cfg, model, X_train)
    train_metrics = compute_metrics(cfg, y_train, tr_pred, tr_proba)

    # Held-out data (for the gate) and the drift reference (the champion's training data, with
    # its predictions) live in the lake beside each other, keyed by the Airflow run.
    mdir = lake.model_dir(cfg.name, run_dir_name(run_key))
    holdout_uri = lake.write_bytes(f"{mdir}/holdout.parquet", to_parquet_bytes(test_df))
    # The drift reference is the whole window the model learned from and was judged on, with the
    # model's own predictions, so that day-of-week patterns inside the window are not "drift".
    ref = df[list(dict.fromkeys([*cfg.drift_columns, cfg.data_schema.target]))].copy()
    ref_pred, ref_proba = predict(cfg, model, features_frame(cfg, df))
    ref[PREDICTION] = ref_pred
    if ref_proba is not None:
        ref[PROBABILITY] = ref_proba
    if len(ref) > cfg.drift.max_reference_rows:
        ref = ref.sample(cfg.drift.max_reference_rows, random_state=cfg.split.seed).sort_index()
    reference_uri = lake.write_bytes(f"{mdir}/reference.parquet", to_parquet_bytes(ref))

    af = airflow_context or {}
    window_tag = json.dumps(window)
    tags = {
        "pipeline": cfg.name,
        "config_hash": cfg.config_hash,
        "code_version": tracking.code_version(),
        tracking.TAG_RUN_KEY: run_key,
        "airflow.dag_id": af.get("dag_id", ""),
        "airflow.run_id": af.get("run_id", ""),
        "train.reason": reason,
        "train.force": str(force).lower(),
        "data.window": window_tag,
        "data.snapshots": json.dumps([f"{x['ds']}:{(x['hash'] or '')[:16]}" for x in lineage]),
        "data.source": lake.uri(cfg.name, "batches"),
        "data.fingerprint": fp,
        "data.train_rows": str(len(train_df)),
        "data.test_rows": str(len(test_df)),
        "data.holdout_uri": holdout_uri,
        "data.reference_uri": reference_uri,
        "validation.status": f"{len(window)} of {len(window)} snapshots validated",
        **{f"lib.{k}": v for k, v in tracking.library_versions().items()},
    }
    params = {
        "estimator": cfg.model.estimator,
        **{f"model.{k}": json.dumps(v) for k, v in sorted(cfg.model.params.items())},
        "features.numeric": ",".join(cfg.features.numeric),
        "features.categorical": ",".join(cfg.features.categorical),
        "split.training_window_days": str(days),
        "split.test_fraction": str(cfg.split.test_fraction),
        "split.seed": str(cfg.split.seed),
        "window.start": window[0],
        "window.end": window[-1],
    }
    with mlflow.start_run(experiment_id=exp_id, run_name=f"train {window[-1]} ({reason})"[:250]) as run:
        rid = run.info.run_id
        ts = int(pd.Timestamp.now().timestamp() * 1000)
        client.log_batch(
            rid,
            metrics=[Metric(k, v, ts, 0) for k, v in test_metrics.items()]
            + [Metric(f"train_{k}", v, ts, 0) for k, v in train_metrics.items()],
            params=[Param(k, v[:6000]) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        target = cfg.data_schema.target
        mlflow.log_input(
            mlflow.data.pandas_dataset.from_pandas(
                train_df, source=tags["data.source"], targets=target, name=f"{cfg.name}-train"
            ),
            context="training",
        )
        mlflow.log_input(
            mlflow.data.pandas_dataset.from_pandas(
                test_df, source=holdout_uri, targets=target, name=f"{cfg.name}-holdout"
            ),
            context="evaluation",
        )
        mlflow.log_dict({"snapshots": lineage, "tags": tags, "params": params}, "lineage.json")
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(X_test, pred),
            input_example=X_test.head(5),
            skops_trusted_types=skops_types(model),
        )
        mv = mlflow.register_model(
            info.model_uri,
            name,
            tags={**tags, **{f"metric.{k}": f"{v:.6f}" for k, v in test_metrics.items()}},
        )
        client.set_tag(rid, "registered_version", str(mv.version))
    return TrainResult(
        pipeline=cfg.name,
        model_name=name,
        version=str(mv.version),
        run_id=rid,
        skipped=False,
        reused=False,
        reason=reason,
        metrics=test_metrics,
        window=window,
        train_rows=len(train_df),
        test_rows=len(test_df),
        holdout_uri=holdout_uri,
        reference_uri=reference_uri,
        data_fingerprint=fp,
    )
