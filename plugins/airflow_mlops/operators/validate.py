"""ValidateDataOperator: the pipeline's Great Expectations suite on a snapshot.

The summary goes to XCom before anything fails, so the UI shows why. Only a batch that passes
reaches the validated Asset (through an AssetAlias, so nothing is emitted otherwise).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from airflow_mlops.base import PipelineOperator
from airflow_mlops.links import ValidationLink


class ValidateDataOperator(PipelineOperator):
    """Validate interval ``ds``; on failure either fail (listing expectations) or quarantine and go on."""

    operator_extra_links = (ValidationLink(),)
    ui_color = "#fdf3e8"

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.data.validate import QUARANTINED, validate_snapshot
        from airflow_mlops.core.foundation.errors import DataContractError

        res = validate_snapshot(self.config, self.lake, str(self.ds))
        summary = res.to_dict()
        context["ti"].xcom_push(key="validation", value=summary)
        self.alert(context, "validation", summary)  # failed or quarantined; nothing when it passed
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
        if res.status == QUARANTINED:
            self.log.warning(
                "Batch quarantined, not passed on to training or scoring:\n%s", res.failure_message()
            )
        elif not res.success:
            # The same rows fail the same suite: a permanent error, failed without retry by the base.
            raise DataContractError(res.failure_message())
        else:
            keys = ("ds", "snapshot_uri", "snapshot_hash", "evaluated", "result_uri")
            self.emit(context, {k: summary[k] for k in keys})
        return summary
