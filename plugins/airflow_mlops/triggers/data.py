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
        self.uri = uri
        self.conn_id = conn_id
        self.poke_interval = poke_interval
        self.deadline = deadline
        self.kind = kind
        self.check = dict(check) if check is not None else {"uri": uri}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_mlops.triggers.data.DataAvailableTrigger",
            {
                "uri": self.uri,
                "conn_id": self.conn_id,
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
                "kind": self.kind,
                "check": self.check,
            },
        )

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
