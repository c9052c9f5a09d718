"""IngestOperator: raw file of one interval -> content-hashed Parquet snapshot; emits the snapshot Asset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Asset, BaseOperator, Context

from airflow_mlops.operators.base import PipelineMixin, asset_extra


class IngestOperator(PipelineMixin, BaseOperator):
    """Snapshot interval ``ds`` of ``pipeline``; re-running replaces the interval, never duplicates it."""

    template_fields: Sequence[str] = ("pipeline", "ds")
    ui_color = "#e8f4fd"

    def __init__(self, *, pipeline: str, ds: str = "{{ data_interval_start | ds }}", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.ds = ds

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.snapshot import ingest
        from airflow_mlops.hooks.lake import source_filesystem

        cfg = self.config()
        src = cfg.source.for_interval(self.ds)
        res = ingest(
            cfg,
            self.lake(),
            self.ds,
            source_fs=source_filesystem(src, cfg.source.conn_id),
            run_id=context["run_id"],
        ).to_dict()
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
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra = asset_extra(
                    res, ["ds", "uri", "rows", "content_hash", "columns", "source_uri"]
                )
        return res
