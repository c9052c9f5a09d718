"""DataAvailableSensor: present data passes at once; missing data defers to the trigger or times out."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowSensorTimeout, TaskDeferred

from airflow_mlops.sensors import DataAvailableSensor
from airflow_mlops.triggers import DataAvailableTrigger
from dev.datasets import write_flights
from tests.unit.operators.conftest import make_context

pytestmark = pytest.mark.unit


def _sensor(ds: str, **kwargs) -> DataAvailableSensor:
    return DataAvailableSensor(task_id="wait_for_data", pipeline="flights_delay", ds=ds, timeout=60, **kwargs)


def test_present_data_passes_without_deferring(home: Path) -> None:
    write_flights((home / "raw").as_uri(), ["2013-01-02"])
    assert _sensor("2013-01-02").execute(make_context()) == {
        "uri": (home / "raw" / "flights" / "2013-01-02.csv").as_uri()
    }


def test_missing_data_defers_to_the_trigger(home: Path) -> None:
    with pytest.raises(TaskDeferred) as deferred:
        _sensor("2013-01-03", poke_interval=7).execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, DataAvailableTrigger)
    assert trigger.uri == (home / "raw" / "flights" / "2013-01-03.csv").as_uri()
    assert trigger.conn_id is None and trigger.poke_interval == 7
    assert deferred.value.method_name == "execute_complete"


def test_without_deferral_it_pokes(home: Path) -> None:
    sensor = _sensor("2013-01-03", deferrable=False)
    assert sensor.poke(make_context()) is False
    write_flights((home / "raw").as_uri(), ["2013-01-03"])
    assert sensor.poke(make_context()) is True


def test_the_trigger_timing_out_names_the_path(home: Path) -> None:
    sensor = _sensor("2013-01-03")
    uri = "file:///raw/flights/2013-01-03.csv"
    with pytest.raises(
        AirflowSensorTimeout, match=f"{uri}: raw data for flights_delay interval 2013-01-03 did not arrive"
    ):
        sensor.execute_complete(make_context(), {"status": "timeout", "uri": uri})
    assert sensor.execute_complete(make_context(), {"status": "found", "uri": uri}) == {"uri": uri}


def test_the_source_connection_falls_back_to_the_lakes(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_MLOPS_LAKE_CONN_ID", "lake_conn")
    assert _sensor("2013-01-03").hook.conn_id == "lake_conn"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("ConfigError", "connection aws_lake: endpoint_url is not a URL"),
        ("DataContractError", "select ready from t: returned no column named ready"),
    ],
)
def test_a_refusal_in_the_triggerer_fails_the_task_without_retry(
    home: Path, error: str, message: str
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    event = {"status": "refused", "uri": "s3://raw/x.csv", "error": error, "message": message}
    with pytest.raises(AirflowFailException) as got:
        _sensor("2013-01-03").execute_complete(make_context(), event)
    assert str(got.value) == f"{error} (permanent, not retried): {message}"
