"""Parse cost of the DAG file in one warm interpreter (issue 10, target 6).

The floor every DAG file with ``@task`` pays (``import airflow.sdk`` and providers-standard's task
decorators) is imported first; then ``dags/mlops_pipelines.py`` is executed once cold (what a
DAG-processor parse pays: our package is imported and the DAGs are built) and several times warm.

    AIRFLOW_MLOPS_HOME=/tmp/ph PYTHONPATH=<checkout>/plugins .venv/bin/python -m benchmarks.parse_cost
"""

from __future__ import annotations

import importlib.util
import json
import resource
import statistics
import sys
import time
from pathlib import Path

DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / "mlops_pipelines.py"
HEAVY = ("pandas", "sklearn", "mlflow", "great_expectations", "evidently", "pyarrow")


def _exec_dag_file() -> tuple[float, int]:
    """Seconds to execute the DAG file once, and how many DAGs it defined."""
    from airflow.sdk import DAG

    spec = importlib.util.spec_from_file_location(f"dagfile_{time.perf_counter_ns()}", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    started = time.perf_counter()
    spec.loader.exec_module(module)
    took = time.perf_counter() - started
    return took, sum(isinstance(v, DAG) for v in vars(module).values())


def main() -> None:
    started = time.perf_counter()
    import airflow.providers.standard.decorators.python
    import airflow.sdk  # noqa: F401

    floor = time.perf_counter() - started
    first, dags = _exec_dag_file()
    warm = statistics.median(_exec_dag_file()[0] for _ in range(7))
    heavy = [m for m in HEAVY if m in sys.modules]
    if "--json" in sys.argv[1:]:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out = {
            "floor_s": floor,
            "first_s": first,
            "warm_s": warm,
            "heavy": heavy,
            "peak_rss_mb": peak,
            "dags": dags,
        }
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}))
        return
    print(f"floor (airflow.sdk + task decorators): {floor:.2f} s")
    print(f"DAG file: first {first * 1000:.0f} ms; warm median {warm * 1000:.0f} ms")
    print("heavy modules imported:", heavy or "none")


if __name__ == "__main__":
    main()
