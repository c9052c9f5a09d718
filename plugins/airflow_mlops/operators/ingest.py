"""IngestOperator: one interval of a source -> content-hashed Parquet snapshot; emits the snapshot Asset."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from airflow_mlops.base import PipelineOperator


class IngestOperator(PipelineOperator):
    """Snapshot interval ``ds`` of ``pipeline``; re-running replaces the interval, never duplicates it."""

    ui_color = "#e8f4fd"

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.data.ingest import ingest
        from airflow_mlops.core.data.sources.base import source_of
        from airflow_mlops.core.foundation.catalog import Catalog
        from airflow_mlops.core.foundation.errors import DataContractError
        from airflow_mlops.hooks.source import connect

        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        source = source_of(self.config)
        try:
            res = ingest(
                self.config,
                self.lake,
                str(self.ds),
                run_id=context["run_id"],
                interval=(start, end) if start is not None and end is not None else None,
                pii_key=self.pii_key(),
                conn=connect(source.hook, source.conn_id),
            ).to_dict()
        except DataContractError as e:
            # The same bytes fail the same way: the base fails the task without retry (a permanent
            # error). Here the refusal only gains where the file and its reason are kept.
            where = Catalog(self.lake, self.pipeline).quarantine_dir(str(self.ds))
            kept = source.kept_in_quarantine
            self.alert(context, "quarantine", {"ds": self.ds, "reason": e, "where": where})
            raise DataContractError(f"{e}\n{kept} kept in {where}") from e
        self.log.info(
            "Ingested %s: %d raw rows, %d dropped by row_filter, %d in snapshot %s (hash %s)%s",
            res["source_uri"],
            res["rows_raw"],
            res["rows_filtered"],
            res["rows"],
            res["uri"],
            res["content_hash"][:16],
            " - unchanged, kept as it was" if res["unchanged"] else "",
        )
        keys = ("ds", "uri", "rows", "content_hash", "columns", "source_uri")
        self.emit(context, {k: res[k] for k in keys})
        return res

    def pii_key(self) -> bytes | None:
        """The key of the pipeline's hashed pii columns, from its Airflow Variable, masked in logs;
        None when nothing is hashed or it is not set (core ingest then says how to set it)."""
        schema = self.config.data_schema
        if not schema.pii_hashed:
            return None
        from airflow.sdk import Variable
        from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
        from airflow.sdk.log import mask_secret

        try:
            value = Variable.get(schema.pii_key_variable)
        except AirflowRuntimeError as e:
            if e.error.error != ErrorType.VARIABLE_NOT_FOUND:
                raise
            return None
        # Without a name: given one, Airflow masks only values whose name looks secret ("password",
        # "secret", "api_key"...), and "airflow_mlops_pii_key" does not.
        mask_secret(value)
        return str(value).encode("utf-8")
