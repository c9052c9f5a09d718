"""Drift: each scored batch against the training data of the model that scored it.

Drift is decided here, by the pipeline's threshold on the share of drifted monitored columns, not by
Evidently's dataset-level rule, so that the retrain trigger means the same across Evidently versions.
Each batch gets a report and a summary in its partition (the summary last: the commit point), and a
monitoring run in MLflow (one per Airflow run and interval: a retry logs into the same run).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.foundation import registry, streams, tracking
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataNotFoundError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.foundation.result import Result
from airflow_mlops.core.model.modeling import PREDICTION, PROBABILITY
from airflow_mlops.core.model.reference import sample_reference
from airflow_mlops.core.monitor.methods import Verdict, label_kind, verdict
from airflow_mlops.core.monitor.sketch import Kind, Sketch, kind_of

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftResult(Result):
    """What one drift check found; small enough for XCom, Asset event metadata and MLflow."""

    pipeline: str
    ds: str
    model_version: str | None
    drift_share: float
    drifted_columns: list[str]
    n_columns: int
    threshold: float
    drift_detected: bool
    # Evidently's drift test on the prediction column; not the ``prediction_drift`` signal (a PSI).
    prediction_column_score: float | None
    prediction_column_drifted: bool | None
    quality: dict[str, float] | None
    column_scores: dict[str, float]
    current_rows: int
    reference_rows: int
    html_uri: str
    json_uri: str
    summary_uri: str
    sampled_rows: int | None = None  # the report's current rows, when the batch was sampled
    column_methods: dict[str, str] | None = None  # column -> test over every row (others: the sample's)
    signals: dict[str, dict[str, Any]] | None = None  # signals.Signal of each, as a dict
    fired: list[str] | None = None
    retrain: bool | None = None  # a retrain is asked for (the drift Asset event is emitted)
    retrain_reason: str | None = None
    labels: dict[str, Any] | None = None  # signals.Labels, as a dict
    snapshot_hash: str | None = None  # the snapshot the batch was scored from (None: not recorded)

    def metrics(self) -> dict[str, float]:
        """Flat numeric metrics, named for MLflow (``log_metrics`` takes the dict as it is)."""
        out: dict[str, float] = {
            "drift_share": self.drift_share,
            "n_drifted": float(len(self.drifted_columns)),
            "n_drift_columns": float(self.n_columns),
            "drift_detected": float(self.drift_detected),
            "current_rows": float(self.current_rows),
            "reference_rows": float(self.reference_rows),
        }
        for key in ("prediction_column_score", "prediction_column_drifted", "retrain"):
            if getattr(self, key) is not None:
                out[key] = float(getattr(self, key))
        for col, score in self.column_scores.items():
            out[f"drift_score_{_metric_key(col)}"] = score
        for name, value in (self.quality or {}).items():
            out[f"quality_{name}"] = value
        for name, sig in (self.signals or {}).items():
            if sig.get("value") is not None:
                out[f"signal_{name}"] = float(sig["value"])
            out[f"signal_{name}_fired"] = float(bool(sig.get("fired")))
        if self.labels is not None:
            out["labels_rows"] = float(self.labels.get("rows", 0))
            out["labels_matched"] = float(self.labels.get("matched", 0))
        return out


def _metric_key(name: str) -> str:
    """MLflow accepts letters, digits, ``_-./`` and spaces in metric names."""
    return re.sub(r"[^\w\-./ ]", "_", name)


@dataclass
class SummarizedBatch:
    """The scored batch as drift sees it: every row summarized, about ``drift.max_current_rows`` kept."""

    frame: pd.DataFrame
    rows: int
    sketches: dict[str, Sketch]
    model_version: str | None

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        """Exact per-column statistics over every row (for the drift summary)."""
        return {c: s.stats() for c, s in self.sketches.items()}


def _empty_sketches(cfg: PipelineConfig, schema: Any, columns: list[str]) -> dict[str, Sketch]:
    """An empty sketch per column, of the kind the report sees (labels per task, probabilities numbers)."""
    fixed: dict[str, Kind] = {
        PROBABILITY: "num",
        PREDICTION: label_kind(cfg),
        cfg.data_schema.target: label_kind(cfg),
    }
    declared = cfg.data_schema.columns
    return {c: Sketch(fixed.get(c) or kind_of(declared.get(c), schema.field(c).type)) for c in columns}


def read_current(cfg: PipelineConfig, lake: Lake, uri: str, chunk_rows: int = 250_000) -> SummarizedBatch:
    """Read a predictions file in chunks: every monitored column sketched over every row, and a
    sample for the report (drawn with ``split.seed``: the same rows every run). Memory is a chunk,
    the sketches and the sample, whatever the batch's size."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    needed = [*cfg.drift_columns, cfg.data_schema.target, PREDICTION, PROBABILITY, "model_version"]
    rng = np.random.default_rng(cfg.split.seed)
    kept: list[pd.DataFrame] = []
    version = None
    # pyarrow's kernels release the GIL: columns are summarized side by side while the next chunk
    # is decoded (streams.prefetch); each sketch is fed by one thread at a time, in row order.
    with lake.open_parquet(uri) as pf, ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        total = pf.metadata.num_rows
        schema = pf.schema_arrow
        columns = [c for c in dict.fromkeys(needed) if c in schema.names]
        sketches = _empty_sketches(cfg, schema, [c for c in columns if c != "model_version"])
        share = min(1.0, cfg.drift.max_current_rows / max(total, 1))
        batches = streams.prefetch(pf.iter_batches(batch_size=chunk_rows, columns=columns))
        for batch in batches:
            if version is None and "model_version" in batch.schema.names and batch.num_rows:
                version = str(batch.column("model_version")[0].as_py())
            added = [pool.submit(sk.add, batch.column(c)) for c, sk in sketches.items()]
            if share < 1.0:
                batch = batch.filter(pa.array(rng.random(batch.num_rows) < share))
            kept.append(batch.to_pandas())
            for done in added:
                done.result()
    frame = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=columns)
    return SummarizedBatch(frame.drop(columns=["model_version"], errors="ignore"), total, sketches, version)


def summarize_frame(cfg: PipelineConfig, frame: pd.DataFrame) -> SummarizedBatch:
    """A batch given as a frame, summarized like a file read by :func:`read_current` (unsampled)."""
    table = _arrow(cfg, frame, "current")
    if table is None:
        return SummarizedBatch(frame, len(frame), {}, None)
    sketches = _empty_sketches(cfg, table.schema, table.column_names)
    for c, sk in sketches.items():
        sk.add(table.column(c))
    return SummarizedBatch(frame, len(frame), sketches, None)


def _arrow(cfg: PipelineConfig, frame: pd.DataFrame, side: str) -> Any:
    """The frame as an Arrow table, or None (logged) when a column holds values Arrow cannot type:
    then the report decides every column, on its own terms."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
        log.warning(
            "%s: %s data cannot be summarized (%s); Evidently decides every column", cfg.name, side, e
        )
        return None


def decide(cfg: PipelineConfig, reference: pd.DataFrame, current: SummarizedBatch) -> dict[str, Verdict]:
    """Each monitored column's (and the prediction's) test over every current row, against the
    reference rows; columns missing here are decided by the report on its sample."""
    table = _arrow(cfg, reference, "reference")
    per_column = cfg.drift.per_column
    out: dict[str, Verdict] = {}
    if table is None:
        return out
    for col in dict.fromkeys([*cfg.drift_columns, PREDICTION]):
        cur = current.sketches.get(col)
        if cur is None or col not in table.column_names:
            continue
        ref = Sketch(cur.kind)
        ref.add(table.column(col))
        own = per_column.get(col) if col in cfg.drift_columns else None
        method = (own.method if own else None) or cfg.drift.method
        threshold = own.threshold if own and own.threshold is not None else cfg.drift.method_threshold
        found = verdict(ref, cur, method, threshold)
        if found is not None:
            out[col] = found
    return out


def drift_report(
    cfg: PipelineConfig,
    lake: Lake,
    ds: str,
    current: pd.DataFrame | SummarizedBatch,
    reference: pd.DataFrame,
    model_version: str | None,
    champion_score: float | None = None,
    *,
    snapshot_hash: str | None = None,
) -> DriftResult:
    """Build the report and write its HTML, JSON and summary (the summary last). ``current``: a frame,
    or a :class:`SummarizedBatch` (the report on its sample, the counts over every row).
    ``champion_score``: the performance signal's reference. ``snapshot_hash`` is kept in the
    summary: a drift summary counts as the pipeline's only for the snapshot committed now."""
    from airflow_mlops.core.monitor import signals as sig
    from airflow_mlops.core.monitor.evidently_report import build_report
    from airflow_mlops.core.monitor.report_html import evidently_html
    from airflow_mlops.core.monitor.report_json import parse_report

    whole = current if isinstance(current, SummarizedBatch) else summarize_frame(cfg, current)
    frame = whole.frame
    reference = sample_reference(cfg, reference)
    decided = decide(cfg, reference, whole)
    snapshot, report = build_report(cfg, frame, reference)
    read = parse_report(cfg, report, {c: (v.score, v.drifted) for c, v in decided.items()})
    share, drifted = read.drift_share, read.drifted_columns
    cat = Catalog(lake, cfg.name)
    html_uri = lake.write_text(cat.drift_html_uri(ds), evidently_html(snapshot))
    json_uri = lake.write_text(cat.drift_json_uri(ds), json.dumps(report))
    detected = share >= cfg.drift.threshold
    found = sig.evaluate(cfg, lake, ds, reference, frame, champion_score, share, detected, whole.rows)
    result = DriftResult(
        pipeline=cfg.name,
        ds=ds,
        model_version=model_version,
        drift_share=share,
        drifted_columns=drifted,
        n_columns=len(cfg.drift_columns),
        threshold=cfg.drift.threshold,
        drift_detected=detected,
        prediction_column_score=read.prediction_column_score,
        prediction_column_drifted=read.prediction_column_drifted,
        quality=read.quality,
        column_scores=read.column_scores,
        current_rows=whole.rows,
        reference_rows=len(reference),
        html_uri=html_uri,
        json_uri=json_uri,
        summary_uri=cat.drift_summary_uri(ds),
        sampled_rows=len(frame) if len(frame) < whole.rows else None,
        column_methods={c: v.method for c, v in decided.items()},
        signals=found.to_dict(),
        fired=found.fired,
        retrain=found.retrain,
        retrain_reason=sig.retrain_reason(ds, found, drifted),
        labels=asdict(found.labels),
        snapshot_hash=snapshot_hash,
    )
    summary = {**result.to_dict(), "created_at": datetime.now(UTC).isoformat(), "current_stats": whole.stats}
    lake.write_json(result.summary_uri, summary)
    return result


def monitor_batch(
    cfg: PipelineConfig, lake: Lake, client: MlflowClient, ds: str, run_key: str
) -> dict[str, Any]:
    """Drift report of interval ``ds``'s predictions; returns the drift summary (JSON-safe). Refused
    before anything is written: a batch not validated, predictions from another snapshot."""
    from airflow_mlops.core.monitor.predict import scored_snapshot

    cat = Catalog(lake, cfg.name)
    manifest = cat.require_validated(ds, "monitor its drift")
    current_uri = cat.predictions_uri(ds)
    if not lake.exists(current_uri):
        raise DataNotFoundError(
            f"{current_uri}: interval {ds} has not been scored; run the predict task first"
        )
    scored_from, committed = scored_snapshot(lake, current_uri), manifest["content_hash"]
    if scored_from is not None and scored_from != committed:
        raise DataNotFoundError(
            f"{current_uri}: the predictions of {cfg.name} interval {ds} were made from snapshot "
            f"{scored_from[:16]}, not from the one committed now ({committed[:16]}); score it again"
        )
    current = read_current(cfg, lake, current_uri)
    version = str(current.model_version)
    mv = client.get_model_version(cfg.registered_model_name, version)
    ref_uri = registry.tags_of(mv).get(Tag.REFERENCE_URI)
    if not ref_uri:
        raise DataNotFoundError(f"{cfg.registered_model_name} v{version}: no {Tag.REFERENCE_URI} tag")
    reference = lake.read_parquet(ref_uri)
    score = registry.tags_of(mv).get(registry.metric_tag(cfg.gate.metric))
    champion_score = None if score is None else float(score)
    res = drift_report(cfg, lake, ds, current, reference, version, champion_score, snapshot_hash=committed)
    _log_monitoring_run(cfg, lake, client, res, run_key)
    return res.to_dict()


def _log_monitoring_run(
    cfg: PipelineConfig, lake: Lake, client: MlflowClient, res: DriftResult, run_key: str
) -> None:
    """Drift metrics and the report in MLflow, next to the model's runs (a retry reuses its run)."""
    import mlflow
    from mlflow.entities import Metric, RunTag

    exp_id = tracking.ensure_experiment(client, cfg.experiment_name)
    found = client.search_runs(
        [exp_id], filter_string=f"tags.`{Tag.RUN_KEY}` = '{run_key}' and tags.`{Tag.MONITOR_DS}` = '{res.ds}'"
    )
    tags = {
        Tag.PIPELINE: cfg.name,
        Tag.KIND: "monitoring",
        Tag.MONITOR_DS: res.ds,
        Tag.RUN_KEY: run_key,
        Tag.MODEL_VERSION: str(res.model_version),
        Tag.DRIFT_DETECTED: str(res.drift_detected).lower(),
        Tag.DRIFT_REPORT: res.html_uri,
        Tag.RETRAIN: str(bool(res.retrain)).lower(),
        Tag.FIRED: ",".join(res.fired or []),
        Tag.RETRAIN_REASON: (res.retrain_reason or "")[:4000],
    }
    with mlflow.start_run(
        run_id=found[0].info.run_id if found else None,
        experiment_id=exp_id,
        run_name=f"monitor {res.ds} (v{res.model_version})",
    ) as run:
        ts = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in res.metrics().items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        with tempfile.TemporaryDirectory() as tmp:
            for uri, name in ((res.html_uri, "drift_report.html"), (res.json_uri, "drift_report.json")):
                path = os.path.join(tmp, name)
                with open(path, "wb") as f:
                    f.write(lake.read_bytes(uri))
                mlflow.log_artifact(path, artifact_path=f"drift/{res.ds}")
