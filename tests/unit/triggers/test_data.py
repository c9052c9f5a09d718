"""DataAvailableTrigger: serializes itself, fires when the file appears, and at its deadline; a
permanent refusal is an event at once, a transient error ends the trigger (the task retries)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from airflow_mlops.core.foundation.errors import (
    ConfigError,
    DataContractError,
    DataNotFoundError,
    LakeWriteError,
    LockTimeoutError,
    MlopsError,
)
from airflow_mlops.triggers import DataAvailableTrigger
from airflow_mlops.triggers.data import poll

pytestmark = pytest.mark.unit


async def _first_event(trigger: DataAvailableTrigger) -> dict:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


def test_it_serializes_to_what_rebuilds_it() -> None:
    trigger = DataAvailableTrigger("s3://raw/2013-01-02.csv", "aws_lake", 5.0, 1234.5)
    path, kwargs = trigger.serialize()
    assert path == "airflow_mlops.triggers.data.DataAvailableTrigger"
    again = DataAvailableTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)


def test_it_fires_when_the_file_appears(tmp_path: Path) -> None:
    target = tmp_path / "2013-01-02.csv"

    async def scenario() -> dict:
        trigger = DataAvailableTrigger(target.as_uri(), None, 0.05, time.time() + 30)
        waiting = asyncio.create_task(_first_event(trigger))
        await asyncio.sleep(0.3)
        assert not waiting.done(), "fired before the file existed"
        target.write_text("a,b\n1,2\n")
        return await asyncio.wait_for(waiting, 10)

    assert asyncio.run(scenario()) == {"status": "found", "uri": target.as_uri()}


def test_it_fires_timeout_at_the_deadline(tmp_path: Path) -> None:
    uri = (tmp_path / "never.csv").as_uri()
    start = time.time()
    event = asyncio.run(_first_event(DataAvailableTrigger(uri, None, 0.05, start + 0.3)))
    assert event == {"status": "timeout", "uri": uri} and time.time() - start >= 0.3


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("connection aws_lake: endpoint_url is not a URL"),
        DataNotFoundError("s3://raw/flights: no such bucket"),
        DataContractError("select 1: returned no column named ready"),
    ],
)
def test_a_permanent_refusal_is_an_event_at_once_not_a_poll_until_the_deadline(error: MlopsError) -> None:
    def ready() -> bool:
        raise error

    async def first() -> dict:
        async for event in poll(ready, "s3://raw/x.csv", 0.05, time.time() + 60):
            return dict(event.payload)
        raise AssertionError("no event")

    start = time.time()
    event = asyncio.run(first())
    assert event == {
        "status": "refused",
        "uri": "s3://raw/x.csv",
        "error": type(error).__name__,
        "message": str(error),
    }
    assert time.time() - start < 5


@pytest.mark.parametrize(
    "error", [LockTimeoutError("lock held"), LakeWriteError("503 from s3"), OSError("reset")]
)
def test_a_transient_error_ends_the_trigger_as_it_is(error: Exception) -> None:
    def ready() -> bool:
        raise error

    async def first() -> None:
        async for _ in poll(ready, "s3://raw/x.csv", 0.05, time.time() + 60):
            raise AssertionError("no event expected")

    with pytest.raises(type(error)) as got:
        asyncio.run(first())
    assert got.value is error
