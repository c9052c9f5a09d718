"""DataAvailableTrigger: asks a source whether an interval's data is ready, without holding a
worker slot; one trigger for every kind of source (files, SQL...), which answers the question."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_mlops.core.foundation.errors import MlopsError


class DataAvailableTrigger(BaseTrigger):
    """Fires ``found`` when the source's ``check`` (its ``readiness``: JSON) holds, ``timeout``
    at the deadline (epoch seconds). ``uri`` names the source in the event; a ``files`` check
    defaults to whether ``uri`` exists, so triggers serialized before kinds existed still run."""

    def __init__(
        self,
        uri: str,
        conn_id: str | None,
        poke_interval: float,
        deadline: float,
        kind: str = "files",
        check: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.uri, self.conn_id, self.kind = uri, conn_id, kind
        self.poke_interval, self.deadline = poke_interval, deadline
        self.check = dict(check) if check is not None else {"uri": uri}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        names = ("uri", "conn_id", "poke_interval", "deadline", "kind", "check")
        return "airflow_mlops.triggers.data.DataAvailableTrigger", {n: getattr(self, n) for n in names}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_mlops.core.data.sources.base import source_class
        from airflow_mlops.hooks.source import connect

        source = source_class(self.kind)
        conn = connect(source.hook, self.conn_id)
        async for event in poll(
            lambda: source.ready(self.check, conn), self.uri, self.poke_interval, self.deadline
        ):
            yield event


async def poll(
    ready: Callable[[], bool], uri: str, poke_interval: float, deadline: float
) -> AsyncIterator[TriggerEvent]:
    """Ask ``ready`` (blocking, run in a thread) every ``poke_interval`` seconds: one event, ``found``
    as soon as it says so, or ``timeout`` at the deadline. A permanent airflow-mlops error is a
    ``refused`` event at once (polling on cannot change it, a failed trigger would be retried);
    transient errors end the trigger as they are, so the task's retries apply."""
    while True:
        try:
            found = await asyncio.to_thread(ready)
            event: dict[str, Any] = {"status": "found" if found else "timeout", "uri": uri}
        except MlopsError as e:
            if not e.permanent:
                raise
            event = {"status": "refused", "uri": uri, "error": type(e).__name__, "message": str(e)}
        if event["status"] != "timeout" or time.time() >= deadline:
            yield TriggerEvent(event)  # type: ignore[no-untyped-call]
            return
        await asyncio.sleep(min(poke_interval, max(0.0, deadline - time.time())))
