"""A task context for calling an operator's ``execute`` directly, with Airflow's own outlet events.

Only what our operators read is provided; the task instance records the XComs pushed to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.execution_time.context import OutletEventAccessors

from tests.unit.conftest import JAN, World, world_copy


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


@pytest.fixture(scope="module")
def gone(flights_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    """A copy of the flights world with a version trained on it, then one January snapshot deleted
    (its manifest and validation kept: the catalog still lists it as validated)."""
    from airflow_mlops.core.model.train import train

    with world_copy(flights_home, tmp_path_factory, "gone") as world:
        cfg = world.cfg
        version = train(cfg, world.lake, world.client, run_key="gone/v1", end_ds=JAN[-1]).version
        assert version is not None
        data = Path(world.lake._p(world.catalog.snapshot_uri(JAN[2])))
        data.unlink()
        yield world, version


def failed_on(excinfo: pytest.ExceptionInfo[AirflowFailException], kind: type[Exception], what: str) -> None:
    cause = excinfo.value.__cause__
    assert isinstance(cause, kind), repr(cause)
    assert what in str(cause) and str(cause) in str(excinfo.value)  # the original message is in the log
