"""What monitoring measures and when it asks for retraining: drift, labels, triggers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from airflow_mlops.core.foundation.config.base import Strict


class ColumnDriftConfig(Strict):
    """The test of one drift column, overriding Evidently's default choice."""

    method: str | None = Field(default=None, description="Evidently stattest, e.g. wasserstein, psi.")
    threshold: float | None = None


class DriftConfig(Strict):
    """Drift monitoring of each validated batch against the champion's training data."""

    columns: list[str] | None = Field(default=None, description="Defaults to the features.")
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    reference: Literal["champion_training_data"] = "champion_training_data"
    max_reference_rows: Annotated[int, Field(ge=100)] = 20_000
    max_current_rows: Annotated[int, Field(ge=1000)] = Field(
        default=50_000,
        description="Rows of a larger batch the Evidently report is built on (a sample drawn with "
        "split.seed); row counts and per-column statistics still cover every row.",
    )
    method: str | None = Field(default=None, description="Evidently stattest for every column, e.g. psi.")
    method_threshold: float | None = None
    per_column: dict[str, ColumnDriftConfig] = Field(default_factory=dict)


class LabelsConfig(Strict):
    """When the true label of a scored row becomes known, and how it is matched to its prediction."""

    arrive: Literal["same_batch", "later"] = Field(
        default="same_batch",
        description="same_batch: a batch carries its own labels; later: a later batch carries the "
        "labels of rows scored before, matched on `key`.",
    )
    key: list[str] = Field(
        default_factory=list, description="Columns naming a row across batches (e.g. a customer id)."
    )
    max_delay_batches: Annotated[int, Field(ge=1, le=365)] = Field(
        default=1, description="How many earlier batches' predictions a label may still be matched to."
    )
    min_rows: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Fewer labelled rows than this: prior shift and performance are not judged."
    )

    @model_validator(mode="after")
    def _key_for_later(self) -> LabelsConfig:
        if self.arrive == "later" and not self.key:
            raise ValueError(
                "key: labels that arrive later need the column(s) that match them to predictions"
            )
        return self


class CovariateTriggerConfig(Strict):
    """Covariate drift (drift.threshold on the share of drifted columns) as a retrain trigger."""

    enabled: bool = True


class ThresholdTriggerConfig(Strict):
    """A distribution signal (PSI) that triggers retraining past its threshold, when enabled."""

    enabled: bool = False
    threshold: Annotated[float, Field(gt=0)] = Field(
        default=0.2, description="Population stability index at or above which the signal fires."
    )


class PerformanceTriggerConfig(Strict):
    """The gate metric on rows whose labels arrived, as a retrain trigger."""

    enabled: bool = False
    max_drop: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="Fire when the metric is worse than the champion's held-out score by more."
    )
    floor: float | None = Field(
        default=None, description="Fire when the metric is worse than this (a ceiling for lower-is-better)."
    )

    @model_validator(mode="after")
    def _bound(self) -> PerformanceTriggerConfig:
        if self.enabled and self.max_drop is None and self.floor is None:
            raise ValueError("enabled: set max_drop or floor, the bound the realized metric is held to")
        return self


class TriggersConfig(Strict):
    """Which monitoring signals queue a retrain; each has its own threshold."""

    covariate_drift: CovariateTriggerConfig = CovariateTriggerConfig()
    prediction_drift: ThresholdTriggerConfig = ThresholdTriggerConfig()
    prior_shift: ThresholdTriggerConfig = ThresholdTriggerConfig()
    performance: PerformanceTriggerConfig = PerformanceTriggerConfig()


class MonitorConfig(Strict):
    """Signals beyond covariate drift: prediction drift, prior shift and realized performance."""

    labels: LabelsConfig = LabelsConfig()
    triggers: TriggersConfig = TriggersConfig()
