"""DataAvailableSensor: waits for a data interval's raw file, deferred to the triggerer."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_mlops.base import PipelineSensor

if TYPE_CHECKING:
    from airflow_mlops.hooks.lake import LakeHook


class DataAvailableSensor(PipelineSensor):
    """Succeeds when ``source.uri`` of interval ``ds`` exists; a missing day times out naming the path.

    The file is checked once in the worker; only if it is missing is the wait handed to the
    triggerer (``deferrable=True``), so a waiting day costs no worker slot.
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

    def poke(self, context: Context) -> bool:
        self.log.info("Waiting for %s", self.uri)
        return self.hook.file_exists(self.uri)

    def execute(self, context: Context) -> Any:
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

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, str]:
        if event.get("status") != "found":
            raise AirflowSensorTimeout(
                f"{event.get('uri')}: raw data for {self.pipeline} interval {self.ds} did not arrive "
                f"within {self.timeout} s"
            )
        self.log.info("Raw data arrived: %s", event["uri"])
        return {"uri": str(event["uri"])}
