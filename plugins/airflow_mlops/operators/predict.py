"""BatchPredictOperator: score a validated snapshot with ``models:/<name>@champion``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

from airflow_mlops.base import PipelineOperator, translate_errors

if TYPE_CHECKING:
    from airflow_mlops.core.foundation.config import PipelineConfig


@translate_errors
def intervals_to_score(cfg: PipelineConfig, context: Context) -> list[str]:
    """The monitor DAG's first task: what its run scores (its triggering events' intervals, or the
    ``ds`` Param); skipped while there is no champion (NoChampionError's outcome). A requested batch
    that did not pass validation fails the run at once (NotValidatedError), naming it and its status."""
    from airflow_mlops.core.monitor.predict import batches_to_score
    from airflow_mlops.hooks import LakeHook, MlflowHook
    from airflow_mlops.params import check_conf

    check_conf(context)
    requested = [
        str(ev.extra["ds"])
        for evs in (context.get("triggering_asset_events") or {}).values()
        for ev in evs
        if ev.extra and "ds" in ev.extra
    ]
    requested += (context.get("params") or {}).get("ds") or []
    return batches_to_score(cfg, LakeHook().get_lake(), MlflowHook().get_client(), requested)


class BatchPredictOperator(PipelineOperator):
    """Write predictions of the champion beside interval ``ds``'s snapshot; skip if there is no champion."""

    ui_color = "#eaf6f6"

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.monitor.predict import score_batch

        res = score_batch(self.config, self.lake, self.mlflow, str(self.ds)).to_dict()
        self.log.info(
            "Scored %s %s with %s v%s: %d rows, mean prediction %.4f -> %s",
            self.pipeline,
            self.ds,
            res["model_name"],
            res["model_version"],
            res["rows"],
            res["mean_prediction"],
            res["predictions_uri"],
        )
        return res
