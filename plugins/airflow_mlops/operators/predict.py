"""BatchPredictOperator: score a validated snapshot with ``models:/<name>@champion``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

from airflow_mlops.operators.base import PipelineMixin


class BatchPredictOperator(PipelineMixin, BaseOperator):
    """Write predictions of the champion beside interval ``ds``'s snapshot; skip if there is no champion."""

    template_fields: Sequence[str] = ("pipeline", "ds")
    ui_color = "#eaf6f6"

    def __init__(self, *, pipeline: str, ds: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.ds = ds

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.scoring import NoChampionError, score_batch

        try:
            res = score_batch(self.config(), self.lake(), self.mlflow(), self.ds).to_dict()
        except NoChampionError as e:
            raise AirflowSkipException(str(e)) from e
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
