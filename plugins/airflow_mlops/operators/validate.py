"""ValidateDataOperator: the pipeline's Great Expectations suite on a snapshot.

The summary goes to XCom before anything fails, so the UI shows why. Only a batch that passes
reaches the validated Asset (through an AssetAlias, so nothing is emitted otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Asset, AssetAlias, BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.operators.base import PipelineMixin, asset_extra


class ValidateDataOperator(PipelineMixin, BaseOperator):
    """Validate interval ``ds``; on failure either fail (listing expectations) or quarantine and go on."""

    template_fields: Sequence[str] = ("pipeline", "ds")
    ui_color = "#fdf3e8"

    def __init__(
        self,
        *,
        pipeline: str,
        ds: str = "{{ data_interval_start | ds }}",
        validated_asset: Asset | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.ds = ds
        self.validated_asset = validated_asset

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.settings import get_settings
        from airflow_mlops.core.validation import validate_snapshot

        cfg = self.config()
        suite = get_settings().expectations_dir / cfg.validation.suite
        res = validate_snapshot(cfg, self.lake(), self.ds, suite)
        summary = res.to_dict()
        context["ti"].xcom_push(key="validation", value=summary)
        self.log.info(
            "Validation of %s %s: %s, %d expectations, %d failed; result %s, docs %s",
            self.pipeline,
            self.ds,
            res.status,
            res.evaluated,
            len(res.failed),
            res.result_uri,
            res.docs_uri,
        )
        if not res.success:
            if res.status == "quarantined":
                self.log.warning(
                    "Batch quarantined, not passed on to training or scoring:\n%s", res.failure_message()
                )
                return summary
            raise AirflowFailException(res.failure_message())
        if self.validated_asset is not None:
            for outlet in self.outlets:
                if isinstance(outlet, AssetAlias):
                    context["outlet_events"][outlet].add(
                        self.validated_asset,
                        extra=asset_extra(
                            summary, ["ds", "snapshot_uri", "snapshot_hash", "evaluated", "result_uri"]
                        ),
                    )
        return summary
