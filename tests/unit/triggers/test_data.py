"""DataAvailableTrigger: serializes itself, fires when the file appears, and at its deadline."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from airflow_mlops.triggers import DataAvailableTrigger

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
