"""PromoteModelOperator: the gate; moves the ``champion`` alias only for a better model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Asset, AssetAlias, BaseOperator, Context

from airflow_mlops.operators.base import PipelineMixin


class PromoteModelOperator(PipelineMixin, BaseOperator):
    """Judge ``version`` (default: the one the upstream train task registered) against the champion."""

    template_fields: Sequence[str] = ("pipeline", "version")
    ui_color = "#f3eafa"

    def __init__(
        self,
        *,
        pipeline: str,
        version: str = "{{ ti.xcom_pull(task_ids='train')['version'] }}",
        champion_asset: Asset | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.version = version
        self.champion_asset = champion_asset

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.core.promotion import promote

        cfg = self.config()
        decision = promote(cfg, self.lake(), self.mlflow(), str(self.version)).to_dict()
        context["ti"].xcom_push(key="decision", value=decision)
        verdict = "PROMOTED to champion" if decision["promoted"] else "REJECTED, champion unchanged"
        self.log.info(
            "%s v%s %s: %s",
            decision["model_name"],
            decision["candidate_version"],
            verdict,
            decision["reason"],
        )
        if decision["promoted"] and self.champion_asset is not None:
            for outlet in self.outlets:
                if isinstance(outlet, AssetAlias):
                    context["outlet_events"][outlet].add(
                        self.champion_asset,
                        extra={
                            "version": decision["candidate_version"],
                            "previous": decision["champion_version"],
                            "reason": decision["reason"],
                        },
                    )
        return decision
