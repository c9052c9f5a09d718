"""SqlReadyTrigger: polls a SQL source's readiness query without holding a worker slot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_mlops.triggers.data import poll


class SqlReadyTrigger(BaseTrigger):
    """Fires ``found`` when the statement's first value is true, ``timeout`` at the deadline (epoch
    seconds). ``statement`` is :meth:`SqlStatement.to_json`: the trigger serializes as JSON; ``uri``
    names the source in the event, as the file trigger names its file."""

    def __init__(
        self, conn_id: str, statement: dict[str, Any], poke_interval: float, deadline: float, uri: str
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.conn_id = conn_id
        self.uri = uri
        self.statement = statement
        self.poke_interval = poke_interval
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_mlops.triggers.sql.SqlReadyTrigger",
            {
                "conn_id": self.conn_id,
                "statement": self.statement,
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
                "uri": self.uri,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_mlops.core.data.sources.sqlsource import SqlStatement
        from airflow_mlops.hooks.sql import SqlSourceHook

        hook = SqlSourceHook(self.conn_id)
        stmt = SqlStatement.from_json(self.statement)
        async for event in poll(lambda: hook.ready(stmt), self.uri, self.poke_interval, self.deadline):
            yield event
