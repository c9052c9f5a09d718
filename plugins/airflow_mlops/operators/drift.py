"""DriftReportOperator: Evidently report of a scored batch against the champion's training data."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from airflow_mlops.base import PipelineOperator
from airflow_mlops.links import DriftReportLink


class DriftReportOperator(PipelineOperator):
    """Write the report (HTML + JSON) to the lake and MLflow; emit the drift Asset when an enabled
    trigger fires (covariate drift past its threshold, or a signal of ``monitor.triggers``)."""

    operator_extra_links = (DriftReportLink(),)

    ui_color = "#fbeaea"

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.monitor.drift import monitor_batch

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
        for name, sig in (res.get("signals") or {}).items():
            if name != "covariate_drift" and (sig["value"] is not None or sig["enabled"]):
                self.log.info(
                    "Signal %s: %s (threshold %s, %d rows)%s%s",
                    name,
                    "n/a" if sig["value"] is None else f"{sig['value']:.4f}",
                    sig["threshold"],
                    sig["rows"],
                    " FIRED" if sig["fired"] else "",
                    f"; {sig['note']}" if sig["note"] else "",
                )
        self.alert(context, "drift", res)  # only on drift, or when a signal asks for a retrain
        # Any enabled trigger (monitor.triggers) asks for a retrain; covariate drift alone by default.
        if res.get("retrain", res["drift_detected"]):
            self.log.warning(
                "Retrain asked for (%s): emitting %s",
                res.get("retrain_reason"),
                getattr(self.asset, "name", None),
            )
            keys = ("ds", "drift_share", "threshold", "drifted_columns", "html_uri", "model_version")
            extra = {k: res[k] for k in keys}
            extra.update({k: res.get(k) for k in ("fired", "retrain_reason")})
            self.emit(context, extra)
        return res
