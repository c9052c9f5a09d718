"""DriftReportOperator: Evidently report of a scored batch against the champion's training data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Asset, AssetAlias, BaseOperator, Context

from airflow_mlops.operators.base import PipelineMixin, asset_extra


class DriftReportOperator(PipelineMixin, BaseOperator):
    """Write the report (HTML + JSON) to the lake and MLflow; emit the drift Asset past the threshold."""

    template_fields: Sequence[str] = ("pipeline", "ds")
    ui_color = "#fbeaea"

    def __init__(self, *, pipeline: str, ds: str, drift_asset: Asset | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.ds = ds
        self.drift_asset = drift_asset

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.monitoring import monitor_batch

        res = monitor_batch(
            self.config(),
            self.lake(),
            self.mlflow(),
            self.ds,
            run_key=f"{context['dag_run'].dag_id}/{context['dag_run'].run_id}",
        )
        self.log.info(
            "Drift of %s %s vs champion v%s training data: %.0f%% of %d columns drifted (threshold %.0f%%)%s; "
            "report %s",
            self.pipeline,
            self.ds,
            res["model_version"],
            100 * res["drift_share"],
            res["n_columns"],
            100 * res["threshold"],
            f": {', '.join(res['drifted_columns'])}" if res["drifted_columns"] else "",
            res["html_uri"],
        )
        if res["drift_detected"] and self.drift_asset is not None:
            self.log.warning("Drift detected: emitting %s", self.drift_asset.name)
            for outlet in self.outlets:
                if isinstance(outlet, AssetAlias):
                    context["outlet_events"][outlet].add(
                        self.drift_asset,
                        extra=asset_extra(
                            res,
                            [
                                "ds",
                                "drift_share",
                                "threshold",
                                "drifted_columns",
                                "html_uri",
                                "model_version",
                            ],
                        ),
                    )
        return res
