"""A task context for calling an operator's ``execute`` directly, with Airflow's own outlet events.

Only what our operators read is provided; the task instance records the XComs pushed to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.execution_time.context import OutletEventAccessors

from dev.datasets import write_flights
from tests.unit.conftest import World


@dataclass
class TaskInstance:
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def make_context(
    dag_id: str = "flights_delay__train",
    run_id: str = "manual__1",
    conf: dict[str, Any] | None = None,
    declared: tuple[str, ...] = ("reason", "training_window_days", "end_date", "force", "ds"),
    **extra: Any,
) -> dict[str, Any]:
    """``declared`` are the DAG's Params; ``conf`` is what the run was triggered with."""
    return {
        "run_id": run_id,
        "dag_run": SimpleNamespace(dag_id=dag_id, run_id=run_id, conf=conf or {}),
        "dag": SimpleNamespace(params=dict.fromkeys(declared)),
        "ti": TaskInstance(),
        "outlet_events": OutletEventAccessors(),
        "data_interval_start": datetime(2013, 1, 2, 6, tzinfo=UTC),
        "params": {},
        **extra,
    }


def alias_events(context: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(alias, asset, extra) of every conditional event the task emitted."""
    return [
        (e.source_alias_name, e.dest_asset_key.name, dict(e.extra))
        for accessor in context["outlet_events"]._dict.values()
        for e in accessor.asset_alias_events
    ]


@pytest.fixture
def context() -> dict[str, Any]:
    return make_context()


#: A day whose batch the shipped suite refuses (``bad_batch``).
BAD = "2013-02-02"


@pytest.fixture(scope="module")
def bad_batch(world: World) -> str:
    """A real day with five flights from an airport the suite does not know, ingested: validation
    fails it (or quarantines it, as the pipeline says)."""
    import pandas as pd

    from airflow_mlops.core.data.ingest import ingest

    write_flights((world.home / "raw").as_uri(), [BAD])
    raw = world.home / "raw" / "flights" / f"{BAD}.csv"
    df = pd.read_csv(raw, dtype=str)
    df.loc[df.index[:5], "origin"] = "XXX"
    df.to_csv(raw, index=False)
    ingest(world.cfg, world.lake, BAD)
    return BAD
