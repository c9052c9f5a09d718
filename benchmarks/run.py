"""``make bench``: each figure of ours beside a baseline measured in the same run.

1. Ingest of one real day of flights: our snapshot (read, type, derive, filter, hash, atomic
   Parquet write) against the plain baseline a user would write by hand (read_csv + to_parquet).
2. Parsing the DAG file, as Airflow does at every parse and every task start: our factory (six
   DAGs from two YAML files) against importing airflow.sdk alone (the floor for any DAG file).
3. Drift of one day against the champion's stored reference (what the monitor task does) against
   recomputing the reference from the training window's snapshots each time.

Numbers are medians of several repetitions on this machine; results go to stdout and
``.state/bench/results.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_ingest(home: Path) -> dict[str, float]:
    import pandas as pd

    from airflow_mlops.core.catalog import Catalog
    from airflow_mlops.core.config import load_pipeline
    from airflow_mlops.core.ingest import ingest
    from airflow_mlops.core.lake import Lake
    from dev.datasets import write_flights

    os.environ["AIRFLOW_MLOPS_HOME"] = str(home)
    cfg = load_pipeline(ROOT / "include" / "pipelines" / "flights_delay.yaml")
    write_flights((home / "raw").as_uri(), ["2013-07-10"])
    raw = home / "raw" / "flights" / "2013-07-10.csv"
    lake = Lake((home / "lake").as_uri())

    def ours() -> None:
        lake.remove(Catalog(lake, cfg.name).partition("2013-07-10"))
        ingest(cfg, lake, "2013-07-10")

    def baseline() -> None:
        pd.read_csv(raw).to_parquet(home / "baseline.parquet", index=False)

    return {"ours_s": median_time(ours, 7), "baseline_s": median_time(baseline, 7)}


def _subprocess_time(code: str, env: dict[str, str], repeat: int) -> float:
    def run() -> None:
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)

    return median_time(run, repeat)


def bench_parse(home: Path) -> dict[str, float]:
    from dev.stack import airflow_env

    env = airflow_env(home)
    dag_file = ROOT / "dags" / "mlops_pipelines.py"
    ours = (
        "import importlib.util, sys; sys.path.insert(0, {!r});"
        "s = importlib.util.spec_from_file_location('m', {!r}); s.loader.exec_module(importlib.util.module_from_spec(s))".format(
            str(ROOT / "plugins"), str(dag_file)
        )
    )
    return {
        "ours_s": _subprocess_time(ours, env, 5),
        "baseline_s": _subprocess_time("import airflow.sdk", env, 5),
    }


def bench_drift(home: Path) -> dict[str, float]:
    import pandas as pd

    from airflow_mlops.core.catalog import Catalog
    from airflow_mlops.core.config import load_pipeline
    from airflow_mlops.core.evidently_report import build_report
    from airflow_mlops.core.ingest import ingest
    from airflow_mlops.core.lake import Lake
    from airflow_mlops.core.modeling import build_pipeline, features_frame, target_series, with_predictions
    from dev.datasets import daterange, write_flights

    os.environ["AIRFLOW_MLOPS_HOME"] = str(home)
    cfg = load_pipeline(ROOT / "include" / "pipelines" / "flights_delay.yaml")
    days = daterange("2013-01-01", 14)
    write_flights((home / "raw").as_uri(), [*days, "2013-07-09"])
    lake = Lake((home / "lake").as_uri())
    cat = Catalog(lake, cfg.name)
    for ds in [*days, "2013-07-09"]:
        ingest(cfg, lake, ds)
    window = pd.concat([cat.read_snapshot(ds) for ds in days])
    model = build_pipeline(cfg).fit(features_frame(cfg, window), target_series(cfg, window))

    def scored(df: pd.DataFrame) -> pd.DataFrame:
        return with_predictions(cfg, model, df)

    reference = scored(window)
    current = scored(cat.read_snapshot("2013-07-09"))
    build_report(cfg, current, reference)  # warm-up: imports

    def ours() -> None:
        build_report(cfg, current, reference)

    def baseline() -> None:
        ref = scored(pd.concat([cat.read_snapshot(ds) for ds in days]))
        build_report(cfg, current, ref)

    return {"ours_s": median_time(ours, 3), "baseline_s": median_time(baseline, 3)}


def main() -> int:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (
            ("ingest_one_day", bench_ingest),
            ("parse_dag_file", bench_parse),
            ("drift_one_day", bench_drift),
        ):
            home = Path(tmp) / name
            home.mkdir()
            results[name] = fn(home)
            r = results[name]
            print(
                f"{name:16s} ours {r['ours_s'] * 1000:8.0f} ms   baseline {r['baseline_s'] * 1000:8.0f} ms   "
                f"ratio {r['ours_s'] / r['baseline_s']:.2f}",
                flush=True,
            )
    out = ROOT / ".state" / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
