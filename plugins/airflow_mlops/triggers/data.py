"""DataAvailableTrigger: polls for a file (local or object storage) without holding a worker slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_mlops.core.foundation.errors import MlopsError


class DataAvailableTrigger(BaseTrigger):
    """Fires ``found`` when the file appears, ``timeout`` at the deadline (epoch seconds)."""

    def __init__(self, uri: str, conn_id: str | None, poke_interval: float, deadline: float) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.uri = uri
        self.conn_id = conn_id
        self.poke_interval = poke_interval
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_mlops.triggers.data.DataAvailableTrigger",
            {
                "uri": self.uri,
                "conn_id": self.conn_id,
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_mlops.hooks.lake import LakeHook

        hook = LakeHook(self.conn_id)
        async for event in poll(
            lambda: hook.file_exists(self.uri), self.uri, self.poke_interval, self.deadline
        ):
            yield event


async def poll(
    ready: Callable[[], bool], uri: str, poke_interval: float, deadline: float
) -> AsyncIterator[TriggerEvent]:
    """Ask ``ready`` (a blocking check, run in a thread) every ``poke_interval`` seconds: one event,
    ``found`` as soon as it says so, or ``timeout`` at the deadline; ``uri`` names the source.

    A permanent refusal (an airflow-mlops error whose class is ``permanent``) is a ``refused`` event
    naming the error, at once: polling on cannot change it, and a failed trigger would be retried.
    Transient errors end the trigger as they are, so the task's retries apply."""
    while True:
        try:
            found = await asyncio.to_thread(ready)
        except MlopsError as e:
            if not e.permanent:
                raise
            refused = {"status": "refused", "uri": uri, "error": type(e).__name__, "message": str(e)}
            yield TriggerEvent(refused)  # type: ignore[no-untyped-call]
            return
        if found:
            yield TriggerEvent({"status": "found", "uri": uri})  # type: ignore[no-untyped-call]
            return
        if time.time() >= deadline:
            yield TriggerEvent({"status": "timeout", "uri": uri})  # type: ignore[no-untyped-call]
            return
        await asyncio.sleep(min(poke_interval, max(0.0, deadline - time.time())))
