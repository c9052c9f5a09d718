"""Twenty retraining requests at once through the REST API, on the production topology (make soak).

What must hold: every request becomes a run, the runs queue (the train DAG runs one at a time), every
candidate gets a decision, decisions are made under strictly increasing champion-lock numbers (one
promotion at a time), each promoted version names the champion it replaced (no decision lost), and
the champion alias, watched throughout, only ever points at a version that passed the gate.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.topology import PIPELINE, TRAIN, Topology, ingest_days, topology

pytestmark = pytest.mark.soak
__all__ = ["topology"]
REQUESTS = 20
SOAK_TIMEOUT = 60 * 60


def _mlflow(topology: Topology) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=topology.mlflow_uri, registry_uri=topology.mlflow_uri)


def test_twenty_retraining_requests_at_once_queue_and_promote_one_at_a_time(topology: Topology) -> None:
    from airflow_client.client import DAGPatchBody, TriggerDAGRunPostBody

    ingest_days(topology)
    topology.dags.patch_dag(TRAIN, DAGPatchBody(is_paused=False))
    started = time.time()

    def request(i: int) -> str:
        conf = {"reason": f"soak request {i}", "force": True}
        return str(
            topology.runs.trigger_dag_run(
                TRAIN, TriggerDAGRunPostBody(logical_date=None, conf=conf)
            ).dag_run_id
        )

    seen: dict[str, str] = {}  # champion version -> its promotion.promoted tag when first seen
    misses: list[str] = []  # why a look at the alias failed (no champion yet, a busy server)
    stop = threading.Event()

    def watch() -> None:
        from mlflow.exceptions import MlflowException

        client = _mlflow(topology)
        while not stop.is_set():
            try:
                v = client.get_model_version_by_alias(PIPELINE, "champion")
                seen.setdefault(str(v.version), v.tags.get("promotion.promoted", "missing"))
            except (MlflowException, OSError) as e:  # anything else ends the watcher, and the test says so
                misses.append(f"{type(e).__name__}: {str(e)[:200]}")
            time.sleep(1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with ThreadPoolExecutor(REQUESTS) as pool:
        run_ids = list(pool.map(request, range(REQUESTS)))
    assert len(set(run_ids)) == REQUESTS

    runs = [topology.wait_run(TRAIN, r, SOAK_TIMEOUT - (time.time() - started)) for r in run_ids]
    stop.set()
    watcher.join(10)
    assert not watcher.is_alive(), "the champion watcher did not stop"
    assert seen, f"the watcher never saw a champion; its failed looks: {misses[-5:]}"
    elapsed = time.time() - started
    states = {r.dag_run_id: str(getattr(r.state, "value", r.state)) for r in runs}
    assert set(states.values()) == {"success"}, states
    spans = sorted((r.start_date, r.end_date) for r in runs)
    overlaps = [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1]]
    assert not overlaps, f"train runs overlapped: {overlaps}"

    client = _mlflow(topology)
    mine = [
        v
        for v in client.search_model_versions(f"name = '{PIPELINE}'")
        if v.tags.get("airflow.run_id") in states
    ]
    assert sorted(v.tags["airflow.run_id"] for v in mine) == sorted(run_ids), "one version per request"
    undecided = [v.version for v in mine if not v.tags.get("promotion.decided_at")]
    assert not undecided, f"versions without a decision: {undecided}"
    locks = sorted((int(v.tags["promotion.lock"]), int(v.version)) for v in mine)
    assert [lk for lk, _ in locks] == sorted({lk for lk, _ in locks}), f"two decisions shared a lock: {locks}"
    promoted = sorted(
        (v for v in mine if v.tags["promotion.promoted"] == "True"),
        key=lambda v: int(v.tags["promotion.lock"]),
    )
    for before, after in itertools.pairwise(promoted):
        assert after.tags.get("previous_champion") == str(before.version), (before.tags, after.tags)
    assert seen and all(p == "True" for p in seen.values()), f"the alias pointed at {seen}"
    champion = client.get_model_version_by_alias(PIPELINE, "champion")
    assert champion.tags["promotion.promoted"] == "True"
    print(
        f"{REQUESTS} requests: {REQUESTS} runs, all success, none overlapping, in {elapsed:.0f} s; "
        f"{len(promoted)} promoted, {REQUESTS - len(promoted)} refused; champions seen {sorted(seen, key=int)}"
    )
