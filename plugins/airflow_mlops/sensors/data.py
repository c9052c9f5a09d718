"""DataAvailableSensor: waits for a data interval's raw file, deferred to the triggerer."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_mlops.base import PipelineSensor, refusal

if TYPE_CHECKING:
    from airflow_mlops.core.data.sources.sqlsource import SqlStatement
    from airflow_mlops.hooks.lake import LakeHook


class DataAvailableSensor(PipelineSensor):
    """Succeeds when ``source.uri`` of interval ``ds`` exists; a missing day times out naming the path.

    The file is checked once in the worker; only if it is missing is the wait handed to the
    triggerer (``deferrable=True``), so a waiting day costs no worker slot.

    A ``source.sql`` interval is ready when its readiness statement says so (see
    :func:`airflow_mlops.core.data.sources.sqlsource.ready_statement`), asked the same way.
    """

    def __init__(self, *, deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> LakeHook:
        """The source's connection, or the lake's."""
        from airflow_mlops.hooks.lake import LakeHook

        return LakeHook(self.config.source.conn_id)

    @property
    def uri(self) -> str:
        return self.config.source.for_interval(str(self.ds))

    def ready_statement(self, context: Context) -> SqlStatement | None:
        """A SQL source's readiness statement for this run's interval (None: nothing to wait for)."""
        from airflow_mlops.core.data.sources.sqlsource import ready_statement

        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        interval = (start, end) if start is not None and end is not None else None
        return ready_statement(self.config, str(self.ds), interval)

    def _sql_ready(self, stmt: SqlStatement | None) -> bool:
        from airflow_mlops.hooks.sql import SqlSourceHook

        assert self.config.source.sql is not None
        return stmt is None or SqlSourceHook(self.config.source.sql.conn_id).ready(stmt)

    def poke(self, context: Context) -> bool:
        self.log.info("Waiting for %s", self.uri)
        if self.config.source.sql is not None:
            return self._sql_ready(self.ready_statement(context))
        return self.hook.file_exists(self.uri)

    def execute(self, context: Context) -> Any:
        if self.config.source.sql is not None:
            return self._execute_sql(context)
        if self.hook.file_exists(self.uri):
            self.log.info("Raw data present: %s", self.uri)
            return {"uri": self.uri}
        if not self.deferrable:
            return super().execute(context)
        # Imported here: airflow.triggers.base costs a DAG parse about 17 ms, and only a deferring
        # sensor needs it.
        from airflow_mlops.triggers.data import DataAvailableTrigger

        timeout = self.timeout if isinstance(self.timeout, (int, float)) else 3600.0
        self.log.info("Raw data not there yet: %s; deferring for up to %.0f s", self.uri, timeout)
        self.defer(
            trigger=DataAvailableTrigger(
                self.uri, self.hook.conn_id, float(self.poke_interval), time.time() + float(timeout)
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(timeout) + 60),
        )

    def _execute_sql(self, context: Context) -> Any:
        stmt = self.ready_statement(context)
        sql = self.config.source.sql
        assert sql is not None
        if self._sql_ready(stmt):
            self.log.info("Rows ready: %s%s", self.uri, "" if stmt else " (a query without ready_query)")
            return {"uri": self.uri}
        if not self.deferrable:
            return super().execute(context)
        from airflow_mlops.triggers.sql import SqlReadyTrigger

        assert stmt is not None
        timeout = self.timeout if isinstance(self.timeout, (int, float)) else 3600.0
        self.log.info("Rows of %s not complete yet; deferring for up to %.0f s", self.uri, timeout)
        self.defer(
            trigger=SqlReadyTrigger(
                sql.conn_id, stmt.to_json(), float(self.poke_interval), time.time() + float(timeout), self.uri
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(timeout) + 60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, str]:
        if event.get("status") == "refused":  # a permanent refusal in the triggerer: no retry
            raise refusal(str(event.get("error")), str(event.get("message")))
        if event.get("status") != "found":
            raise AirflowSensorTimeout(
                f"{event.get('uri')}: raw data for {self.pipeline} interval {self.ds} did not arrive "
                f"within {self.timeout} s"
            )
        self.log.info("Raw data arrived: %s", event["uri"])
        return {"uri": str(event["uri"])}
