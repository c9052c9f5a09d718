"""The ``airflow-mlops`` command: pipeline state for people and scripts.

``status`` reads the same state the DAGs write (the lake and the MLflow registry) through core
functions; it needs no running Airflow.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from airflow_mlops.core.errors import MlopsError


def pipeline_status(cfg: Any, lake: Any, client: Any) -> dict[str, Any]:
    """One pipeline's state: champion, last ingest, validation, drift and gate decision."""
    from airflow_mlops.core import promotion, tracking
    from airflow_mlops.core.drift import latest_drift
    from airflow_mlops.core.snapshot import manifest
    from airflow_mlops.core.validation import validation_summary

    batches = lake.batches(cfg.name)
    last_ingest = None
    last_validation = None
    for ds in reversed(batches):
        m = manifest(lake, cfg.name, ds)
        if m and last_ingest is None:
            last_ingest = {
                "ds": ds,
                "rows": m["rows"],
                "content_hash": m["content_hash"],
                "at": m["ingested_at"],
            }
        v = validation_summary(lake, cfg.name, ds)
        if v:
            last_validation = {
                k: v.get(k) for k in ("ds", "status", "evaluated", "failed", "result_uri", "docs_uri")
            }
            last_validation["failed"] = len(v.get("failed") or [])
            break
    champ = tracking.champion(client, cfg.registered_model_name)
    champion = None
    if champ is not None:
        tags = tracking.tags_of(champ)
        champion = {
            "version": str(champ.version),
            "metric": cfg.gate.metric,
            "score": float(tags[f"metric.{cfg.gate.metric}"])
            if f"metric.{cfg.gate.metric}" in tags
            else None,
            "trained_on": json.loads(tags.get("data.window", "[]")),
            "reason": tags.get("train.reason"),
        }
    drift = latest_drift(lake, cfg.name)
    hist = promotion.history(cfg, client)
    last_decision = None
    if hist:
        d = hist[0]
        mv = client.get_model_version(cfg.registered_model_name, d.candidate_version)
        last_decision = {**d.to_dict(), "train_reason": tracking.tags_of(mv).get("train.reason")}
    return {
        "pipeline": cfg.name,
        "model": cfg.registered_model_name,
        "champion": champion,
        "versions": len(tracking.versions(client, cfg.registered_model_name)),
        "batches": len(batches),
        "last_ingest": last_ingest,
        "last_validation": last_validation,
        "drift": None
        if drift is None
        else {
            k: drift.get(k)
            for k in (
                "ds",
                "drift_share",
                "threshold",
                "drift_detected",
                "drifted_columns",
                "html_uri",
                "model_version",
            )
        },
        "last_decision": last_decision,
        "decisions": len(hist),
    }


def status(pipelines: list[str] | None = None) -> list[dict[str, Any]]:
    """State of every pipeline (or of the named ones)."""
    from airflow_mlops.core import tracking
    from airflow_mlops.core.config import load_pipelines
    from airflow_mlops.core.lake import Lake
    from airflow_mlops.core.settings import get_settings

    s = get_settings()
    good, bad = load_pipelines(s.pipelines_dir)
    if bad:
        print("\n".join(str(e) for e in bad), file=sys.stderr)
    lake = Lake(s.lake_root)
    client = tracking.configure(s)
    return [pipeline_status(c, lake, client) for c in good if not pipelines or c.name in pipelines]


def render_status(rows: list[dict[str, Any]]) -> str:
    """Human-readable status, a few lines per pipeline."""
    out = []
    for p in rows:
        out.append(f"{p['pipeline']} (model {p['model']}, {p['versions']} versions, {p['batches']} batches)")
        c = p["champion"]
        if c:
            score = f"{c['score']:.4f}" if c["score"] is not None else "n/a"
            window = f"{c['trained_on'][0]}..{c['trained_on'][-1]}" if c["trained_on"] else "?"
            out.append(f"  champion:        v{c['version']}  {c['metric']}={score}  trained on {window}")
        else:
            out.append("  champion:        none yet")
        i = p["last_ingest"]
        out.append(
            f"  last ingest:     {i['ds']}  {i['rows']} rows  hash {i['content_hash'][:12]}"
            if i
            else "  last ingest:     none"
        )
        v = p["last_validation"]
        out.append(
            f"  last validation: {v['ds']}  {v['status']}  ({v['failed']} of {v['evaluated']} failed)"
            if v
            else "  last validation: none"
        )
        d = p["drift"]
        if d:
            flag = "DRIFT" if d["drift_detected"] else "ok"
            out.append(
                f"  last drift:      {d['ds']}  {d['drift_share']:.0%} of columns drifted "
                f"(threshold {d['threshold']:.0%}) {flag}  vs v{d['model_version']}"
            )
            out.append(f"                   report {d['html_uri']}")
        else:
            out.append("  last drift:      none")
        g = p["last_decision"]
        if g:
            verdict = "promoted" if g["promoted"] else "rejected"
            out.append(f"  last decision:   v{g['candidate_version']} {verdict}: {g['reason']}")
            out.append(f"                   trained because: {g['train_reason']}")
        else:
            out.append("  last decision:   none")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="airflow-mlops", description="State of airflow-mlops pipelines.")
    sub = ap.add_subparsers(dest="command", required=True)
    st = sub.add_parser(
        "status", help="champion, last ingest, validation, drift and gate decision per pipeline"
    )
    st.add_argument("pipeline", nargs="*", help="only these pipelines")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    chk = sub.add_parser("check", help="validate pipeline YAML files (all of include/pipelines by default)")
    chk.add_argument("files", nargs="*")
    a = ap.parse_args(argv)
    try:
        if a.command == "check":
            return check(a.files)
        rows = status(a.pipeline or None)
    except MlopsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.pipeline and not rows:
        print(f"error: no pipeline named {', '.join(a.pipeline)}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2, default=str) if a.json else render_status(rows))
    return 0


def check(files: list[str]) -> int:
    """Exit 0 if every file is a valid pipeline with a loadable GX suite, else print each problem."""
    from pathlib import Path

    from airflow_mlops.core.config import PipelineConfig, load_pipeline, load_pipelines
    from airflow_mlops.core.settings import get_settings
    from airflow_mlops.core.validation import load_suite

    s = get_settings()
    errors: list[str] = []
    good: list[PipelineConfig] = []
    if files:
        for f in files:
            try:
                good.append(load_pipeline(Path(f)))
            except MlopsError as err:
                errors.append(str(err))
    else:
        good, bad = load_pipelines(s.pipelines_dir)
        errors = [str(e) for e in bad]
    for cfg in good:
        try:
            load_suite(s.expectations_dir / cfg.validation.suite)
        except MlopsError as err:
            errors.append(f"{cfg.name}: validation.suite: {err}")
    for e in errors:
        print(e, file=sys.stderr)
    print(f"ok: {', '.join(c.name for c in good)}" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
