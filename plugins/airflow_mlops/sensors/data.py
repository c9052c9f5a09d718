"""DataAvailableSensor: waits until a data interval's source is ready, deferred to the triggerer."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_mlops.base import PipelineSensor, refusal

if TYPE_CHECKING:
    from airflow_mlops.core.data.sources.base import Source


class DataAvailableSensor(PipelineSensor):
    """Succeeds when interval ``ds`` of the pipeline's source is ready (the source's
    :meth:`~airflow_mlops.core.data.sources.base.Source.readiness`); a missing day times out naming
    where the data was expected. Asked once in the worker; only a wait is handed to the triggerer
    (``deferrable=True``), so a waiting day costs no worker slot."""

    def __init__(self, *, deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable

    @cached_property
    def source(self) -> Source:
        from airflow_mlops.core.data.sources.base import source_of

        return source_of(self.config)

    @cached_property
    def hook(self) -> Any:
        """The hook the source reads through (for files without ``source.conn_id``: the lake's)."""
        from airflow_mlops.hooks.source import connect

        return connect(self.source.hook, self.source.conn_id)

    @property
    def uri(self) -> str:
        return self.source.where(str(self.ds), shown=False)

    def _check(self, context: Context) -> dict[str, Any] | None:
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        interval = (start, end) if start is not None and end is not None else None
        return self.source.readiness(str(self.ds), interval)

    def _ready(self, check: dict[str, Any] | None) -> bool:
        return check is None or self.source.ready(check, self.hook)

    def poke(self, context: Context) -> bool:
        self.log.info("Waiting for %s", self.uri)
        return self._ready(self._check(context))

    def execute(self, context: Context) -> Any:
        check = self._check(context)
        if self._ready(check):
            self.log.info("Data ready: %s%s", self.uri, "" if check else " (nothing to wait for)")
            return {"uri": self.uri}
        if not self.deferrable:
            return super().execute(context)
        # Imported here: airflow.triggers.base costs a DAG parse ~17 ms, and only a deferring sensor needs it.
        from airflow_mlops.triggers.data import DataAvailableTrigger

        timeout = self.timeout if isinstance(self.timeout, (int, float)) else 3600.0
        self.log.info("Data not ready yet: %s; deferring for up to %.0f s", self.uri, timeout)
        deadline = time.time() + float(timeout)
        conn_id = getattr(self.hook, "conn_id", self.source.conn_id)
        trigger = DataAvailableTrigger(
            self.uri, conn_id, float(self.poke_interval), deadline, self.source.kind, check
        )
        self.defer(
            trigger=trigger, method_name="execute_complete", timeout=timedelta(seconds=float(timeout) + 60)
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
