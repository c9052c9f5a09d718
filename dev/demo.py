"""``make demo``: the whole loop on real flights, driven through Airflow's scheduler and REST API.

1. Raw files: real NYC flights of 2013, one CSV per day (January, then a few July days).
2. Trigger the ingest DAG for January 1-14: each day is sensed, snapshotted and validated.
3. Trigger the train DAG through the REST API: the first model is trained and passes the gate.
4. Ingest January 15: the monitor DAG (asset-triggered) scores it; no drift.
5. Ingest July 8-10: summer delays drift; the drift Asset fires; Airflow's asset scheduling
   starts the train DAG, and the gate decides again, with its reason.
6. A summary of what happened and where to look.

``make up`` (``python -m dev.demo up``) serves the Airflow UI and the MLflow UI on the
same state afterwards.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from airflow_mlops.core.foundation.settings import PROJECT_ROOT
from dev.stack import (
    API_PORT,
    MLFLOW_PORT,
    Airflow,
    Stack,
    StackError,
    airflow_env,
    migrate,
    start_airflow,
    start_mlflow,
    state,
    stop_recorded,
)

PIPELINE = "flights_delay"
JANUARY = 14
DRIFT_DAYS = ("2013-07-08", "2013-07-10")


def say(msg: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ingest_days(api: Airflow, dag_id: str, start: str, end: str) -> None:
    """One ingest run per day of [start, end], each with its data interval, through the REST API.

    (Airflow's backfill endpoint refuses SQLite under concurrent access, so the embedded default
    triggers the runs itself; on PostgreSQL ``POST /api/v2/backfills`` does the same.)
    """
    from datetime import UTC, date, datetime, timedelta

    d, last = date.fromisoformat(start), date.fromisoformat(end)
    while d <= last:
        begin = datetime(d.year, d.month, d.day, 6, tzinfo=UTC)
        api.trigger(
            dag_id,
            dag_run_id=f"ingest__{d.isoformat()}",
            logical_date=begin,
            data_interval_start=begin,
            data_interval_end=begin + timedelta(days=1),
        )
        d += timedelta(days=1)


def wait_idle(api: Airflow, stack: Stack, dag_ids: list[str], timeout: float = 600) -> None:
    """Until no run of these DAGs is queued or running (asset-triggered runs included)."""
    deadline = time.time() + timeout
    quiet_since = None
    while time.time() < deadline:
        stack.check()
        busy = [r for d in dag_ids for r in api.runs(d) if state(r.state) in ("queued", "running")]
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > 12:  # the scheduler may still be creating asset-triggered runs
            return
        time.sleep(3)
    raise StackError(f"runs of {dag_ids} still busy after {timeout:.0f} s")


def run(home: Path) -> int:
    from dev.datasets import daterange, write_flights

    t0 = time.time()
    if home.exists():
        shutil.rmtree(home)
    env = airflow_env(home)
    import os

    os.environ.update({k: v for k, v in env.items() if k.startswith(("AIRFLOW", "MLFLOW"))})
    say(f"state in {home}")
    days = daterange("2013-01-01", JANUARY + 1) + daterange(DRIFT_DAYS[0], 3)
    write_flights((home / "raw").as_uri(), days)
    say(f"wrote {len(days)} raw daily files of real 2013 flights to {home / 'raw' / 'flights'}")
    migrate(env)
    stack = Stack(home, env)
    try:
        start_airflow(stack)
        api = Airflow(f"http://localhost:{API_PORT}")
        dags = [f"{PIPELINE}__{k}" for k in ("ingest", "monitor", "train")]
        api.wait_ready(stack, dags)
        say(f"Airflow is up at http://localhost:{API_PORT} (user admin, password admin)")
        # The rollback DAG too: the README's REST rollback would otherwise sit queued on a paused DAG.
        for d in [*dags, f"{PIPELINE}__rollback"]:
            api.unpause(d)

        say("1/4 ingesting 2013-01-01..2013-01-14 (sense, snapshot, validate)")
        ingest_days(api, dags[0], "2013-01-01", "2013-01-14")
        wait_idle(api, stack, dags)

        say("2/4 triggering the first training through the REST API")
        api.trigger(dags[2], {"reason": "demo: first model", "training_window_days": 14})
        wait_idle(api, stack, dags)

        say("3/4 ingesting 2013-01-15: scored by the champion, a drift report written, no drift")
        ingest_days(api, dags[0], "2013-01-15", "2013-01-15")
        wait_idle(api, stack, dags)

        say(f"4/4 ingesting summer days {DRIFT_DAYS[0]}..{DRIFT_DAYS[1]}: drift should trigger retraining")
        ingest_days(api, dags[0], *DRIFT_DAYS)
        wait_idle(api, stack, dags, timeout=900)
        ok = summarize(api, dags)
    finally:
        stack.stop()
    say(
        f"finished in {time.time() - t0:.0f} s. `make up` serves the Airflow UI (http://localhost:{API_PORT}, "
        f"admin/admin) and the MLflow UI (http://localhost:{MLFLOW_PORT}) on this state."
    )
    return 0 if ok else 1


def summarize(api: Airflow, dags: list[str]) -> bool:
    """Print what happened; True if the loop closed (champion, drift, asset-triggered retrain + decision)."""
    from airflow_mlops.cli import render_status, status
    from airflow_mlops.core.foundation.catalog import Catalog
    from airflow_mlops.hooks import LakeHook
    from dev.datasets import daterange

    catalog = Catalog(LakeHook().get_lake(), PIPELINE)
    st = status([PIPELINE])
    print()
    print(render_status(st))
    counts = {d: {} for d in dags}  # type: dict[str, dict[str, int]]
    for d in dags:
        for r in api.runs(d):
            key = f"{state(r.run_type)}:{state(r.state)}"
            counts[d][key] = counts[d].get(key, 0) + 1
    print("Airflow runs:")
    for d, c in counts.items():
        print(f"  {d}: " + ", ".join(f"{v} {k}" for k, v in sorted(c.items())))
    p = st[0]
    retrained = counts[dags[2]].get("asset_triggered:success", 0) > 0
    checks = {
        "a champion serves predictions": p["champion"] is not None,
        "drift was detected on a summer batch": any(
            (catalog.drift(ds) or {}).get("drift_detected") for ds in daterange(DRIFT_DAYS[0], 3)
        ),
        "drift triggered a retraining through asset scheduling": retrained,
        "the gate decided on the retrained model, with a reason": bool(
            p["last_decision"]
            and p["last_decision"]["reason"]
            and "drift" in (p["last_decision"]["train_reason"] or "")
        ),
    }
    print("Loop:")
    for k, v in checks.items():
        print(f"  [{'x' if v else ' '}] {k}")
    return all(checks.values())


def up(home: Path) -> int:
    env = airflow_env(home)
    migrate(env)
    stack = Stack(home, env)
    start_airflow(stack)
    start_mlflow(stack)
    say(f"Airflow UI: http://localhost:{API_PORT} (admin/admin); MLflow UI: http://localhost:{MLFLOW_PORT}")
    say(f"state: {home}; logs: {home / 'logs'}; Ctrl-C stops everything")
    try:
        while True:
            stack.check()
            time.sleep(2)
    except KeyboardInterrupt:
        pass
    except StackError:
        if (home / "pids.json").exists():
            raise  # a process died on its own
        say("stopped by `make down`")
    finally:
        stack.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    import os

    ap = argparse.ArgumentParser(prog="python -m dev.demo", description=__doc__.split("\n")[0])
    ap.add_argument("command", nargs="?", default="run", choices=["run", "up", "down"])
    default_home = Path(os.environ.get("AIRFLOW_MLOPS_HOME") or PROJECT_ROOT / ".state")
    ap.add_argument("--home", type=Path, default=default_home)
    a = ap.parse_args(argv)
    home = a.home.resolve()
    if a.command == "down":
        stopped = stop_recorded(home)
        say(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
        return 0
    return run(home) if a.command == "run" else up(home)


if __name__ == "__main__":
    sys.exit(main())
