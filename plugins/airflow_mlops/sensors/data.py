"""DataAvailableSensor: waits for a data interval's raw file, deferred to the triggerer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_mlops.operators.base import PipelineMixin
from airflow_mlops.triggers.data import DataAvailableTrigger, file_exists


class DataAvailableSensor(PipelineMixin, BaseSensorOperator):
    """Succeeds when ``source.uri`` of interval ``ds`` exists; a missing day times out naming the path.

    The file is checked once in the worker; only if it is missing is the wait handed to the
    triggerer (``deferrable=True``), so a waiting day costs no worker slot.
    """

    template_fields: Sequence[str] = ("pipeline", "ds")

    def __init__(
        self,
        *,
        pipeline: str,
        ds: str = "{{ data_interval_start | ds }}",
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.ds = ds
        self.deferrable = deferrable

    def _uri(self) -> tuple[str, str | None]:
        from airflow_mlops.core.settings import get_settings

        cfg = self.config()
        return cfg.source.for_interval(self.ds), cfg.source.conn_id or get_settings().lake_conn_id

    def poke(self, context: Context) -> bool:
        uri, conn_id = self._uri()
        self.log.info("Waiting for %s", uri)
        return file_exists(uri, conn_id)

    def execute(self, context: Context) -> Any:
        uri, conn_id = self._uri()
        if file_exists(uri, conn_id):
            self.log.info("Raw data present: %s", uri)
            return {"uri": uri}
        if not self.deferrable:
            return super().execute(context)
        timeout = self.timeout if isinstance(self.timeout, (int, float)) else 3600.0
        self.log.info("Raw data not there yet: %s; deferring for up to %.0f s", uri, timeout)
        self.defer(
            trigger=DataAvailableTrigger(
                uri, conn_id, float(self.poke_interval), time.time() + float(timeout)
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(timeout) + 60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, str]:
        if event.get("status") != "found":
            raise AirflowSensorTimeout(
                f"{event.get('uri')}: raw data for {self.pipeline} interval {self.ds} did not arrive "
                f"within {self.timeout} s"
            )
        self.log.info("Raw data arrived: %s", event["uri"])
        return {"uri": str(event["uri"])}
