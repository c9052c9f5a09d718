"""DriftReportOperator: Evidently report of a scored batch against the champion's training data."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from airflow_mlops.base import PipelineOperator
from airflow_mlops.links import DriftReportLink


class DriftReportOperator(PipelineOperator):
    """Write the report (HTML + JSON) to the lake and MLflow; emit the drift Asset past the threshold."""

    operator_extra_links = (DriftReportLink(),)

    ui_color = "#fbeaea"

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.drift import monitor_batch

        res = monitor_batch(self.config, self.lake, self.mlflow, str(self.ds), self.run_key(context))
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
        self.alert(context, "drift", res)  # only past the threshold
        if res["drift_detected"]:
            self.log.warning("Drift detected: emitting %s", getattr(self.asset, "name", None))
            keys = ("ds", "drift_share", "threshold", "drifted_columns", "html_uri", "model_version")
            self.emit(context, {k: res[k] for k in keys})
        return res
