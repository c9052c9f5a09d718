"""The state of a pipeline, in one query: the CLI, the demo and the UI all ask it, so they cannot
disagree about what "the champion" or "the last validation" is. It writes nothing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import ModelRegistry, Tag

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

_VALIDATION_KEYS = ("ds", "status", "evaluated", "failed", "result_uri", "docs_uri")
_DRIFT_KEYS = (
    "ds",
    "drift_share",
    "threshold",
    "drift_detected",
    "drifted_columns",
    "html_uri",
    "model_version",
    # Monitoring signals (core/monitor/signals.py): each with value, threshold, fired; what fired and why.
    "signals",
    "fired",
    "retrain",
    "retrain_reason",
    "labels",
)


def pipeline_status(cfg: PipelineConfig, lake: Lake, client: MlflowClient) -> dict[str, Any]:
    """One pipeline's state (JSON-safe): what the CLI prints and the UI shows."""
    from airflow_mlops.core.model.promote import history

    cat, reg = Catalog(lake, cfg.name), ModelRegistry(client, cfg.registered_model_name)
    batches = cat.batches()
    hist = history(cfg, client)
    last_decision = None
    if hist:
        last_decision = {
            **hist[0].to_dict(),
            "train_reason": reg.tags(hist[0].candidate_version).get(Tag.REASON),
        }
    drift, uncounted = cat.drift_record()  # never a batch that did not pass validation
    return {
        "pipeline": cfg.name,
        "model": cfg.registered_model_name,
        "champion": _champion(cfg, reg.champion()),
        "versions": len(reg.versions()),
        "batches": len(batches),
        "last_ingest": _last_ingest(cat, batches),
        "last_validation": _last_validation(cat, batches),
        "drift": None if drift is None else {k: drift.get(k) for k in _DRIFT_KEYS},
        # Newer drift records that are not the pipeline's, each with why: never shown as the last drift.
        "drift_not_counted": uncounted,
        "last_decision": last_decision,
        "decisions": len(hist),
    }


def _champion(cfg: PipelineConfig, champ: ModelVersion | None) -> dict[str, Any] | None:
    if champ is None:
        return None
    tags = registry.tags_of(champ)
    score = tags.get(registry.metric_tag(cfg.gate.metric))
    return {
        "version": str(champ.version),
        "metric": cfg.gate.metric,
        "score": float(score) if score is not None else None,
        "trained_on": json.loads(tags.get(Tag.WINDOW, "[]")),
        "reason": tags.get(Tag.REASON),
    }


def _last_ingest(cat: Catalog, batches: list[str]) -> dict[str, Any] | None:
    for ds in reversed(batches):
        m = cat.manifest(ds)
        if m:
            return {"ds": ds, "rows": m["rows"], "content_hash": m["content_hash"], "at": m["ingested_at"]}
    return None


def _last_validation(cat: Catalog, batches: list[str]) -> dict[str, Any] | None:
    for ds in reversed(batches):
        v = cat.validation(ds)
        if v:
            return {**{k: v.get(k) for k in _VALIDATION_KEYS}, "failed": len(v.get("failed") or [])}
    return None


def pipeline_detail(cfg: PipelineConfig, lake: Lake, client: MlflowClient, limit: int = 60) -> dict[str, Any]:
    """Everything the MLOps view shows for one pipeline (JSON-safe), the newest ``limit`` versions and batches."""
    from airflow_mlops.core.model.promote import recorded_decision

    cat, reg = Catalog(lake, cfg.name), ModelRegistry(client, cfg.registered_model_name)
    champion = reg.champion_version()
    versions = []
    for mv in reg.versions()[:limit]:
        tags = registry.tags_of(mv)
        decision = recorded_decision(cfg, tags)
        versions.append(
            {
                "version": str(mv.version),
                "created": int(mv.creation_timestamp or 0),
                "champion": str(mv.version) == champion,
                "run_id": mv.run_id,
                "metrics": {k: float(v) for k, v in registry.prefixed(tags, Tag.METRIC_PREFIX).items()},
                "decision": None if decision is None else decision.to_dict(),
                "approval": registry.prefixed(tags, f"{Tag.PROMOTION_PREFIX}approval."),
                "rollback": registry.prefixed(tags, Tag.ROLLBACK_PREFIX),
                "previous_champion": tags.get(Tag.PREVIOUS_CHAMPION) or None,
                "lineage": {
                    "reason": tags.get(Tag.REASON),
                    "window": json.loads(tags.get(Tag.WINDOW, "[]")),
                    "snapshots": json.loads(tags.get(Tag.SNAPSHOTS, "[]")),
                    "train_rows": tags.get(Tag.TRAIN_ROWS),
                    "test_rows": tags.get(Tag.TEST_ROWS),
                    "validation": tags.get(Tag.VALIDATION),
                    "config_hash": tags.get(Tag.CONFIG_HASH),
                    "code_version": tags.get(Tag.CODE_VERSION),
                    "libraries": registry.prefixed(tags, Tag.LIBRARY_PREFIX),
                    "dag_id": tags.get(Tag.DAG_ID),
                    "run_id": tags.get(Tag.RUN_ID),
                },
            }
        )
    quarantine = {q["ds"]: q for q in cat.quarantined()}
    batches = []
    for ds in sorted(set(cat.batches()) | set(quarantine), reverse=True)[:limit]:
        m, summary, drift = cat.manifest(ds), cat.validation(ds), cat.drift(ds)
        uncounted = None if drift is None else cat.why_drift_not_counted(ds, drift, (m, summary))
        batches.append(
            {
                "ds": ds,
                "snapshot": None
                if m is None
                else {k: m.get(k) for k in ("rows", "rows_raw", "content_hash", "ingested_at", "data")},
                "validation": summary,
                "not_validated": cat.judge(ds, m, summary),
                # A drift record that does not count is kept apart (with why), never shown as drift.
                "drift": drift if uncounted is None else None,
                "drift_not_counted": None
                if uncounted is None or drift is None
                else {**drift, "why": uncounted},
                "quarantine": quarantine.get(ds),
            }
        )
    return {
        "status": pipeline_status(cfg, lake, client),
        "gate": {"metric": cfg.gate.metric, "higher_is_better": cfg.gate.higher_is_better},
        "description": cfg.description,
        "versions": versions,
        "batches": batches,
    }
