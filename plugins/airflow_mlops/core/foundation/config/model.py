"""What is trained, searched, split and judged: model, search, split and gate."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from airflow_mlops.core.foundation.config.base import Strict
from airflow_mlops.core.foundation.config.metrics import METRICS

_IMPORT_PATH = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+")


class RangeSpace(Strict):
    """A numeric range one parameter is sampled from (uniformly, or log-uniformly)."""

    low: float
    high: float
    log: bool = Field(default=False, description="Sample log-uniformly (both bounds must be > 0).")
    integer: bool = Field(default=False, alias="int", description="Round the sample to an integer.")

    @model_validator(mode="after")
    def _bounds(self) -> RangeSpace:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0 (low is {self.low})")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError(f"int: true needs whole bounds (low {self.low}, high {self.high})")
        return self


class CandidateConfig(Strict):
    """One estimator of a search and the space of its parameters."""

    estimator: str = Field(description="Import path, as model.estimator.")
    params: dict[str, list[Any] | RangeSpace] = Field(
        default_factory=dict,
        description="Parameter name -> a list of choices, or {low, high, log, int}. Parameters not "
        "named keep the estimator's defaults (random_state: split.seed).",
    )

    @field_validator("estimator")
    @classmethod
    def _import_path(cls, v: str) -> str:
        if not _IMPORT_PATH.fullmatch(v):
            raise ValueError("must be an import path such as sklearn.linear_model.LogisticRegression")
        return v

    @field_validator("params", mode="before")
    @classmethod
    def _spaces(cls, v: Any) -> Any:
        # Checked here so that an error names the parameter, not pydantic's union members.
        if not isinstance(v, dict):
            return v
        out: dict[str, Any] = {}
        for name, space in v.items():
            if isinstance(space, list):
                if not space:
                    raise ValueError(f"{name}: the list of choices is empty")
                out[name] = space
            elif isinstance(space, dict):
                try:
                    out[name] = RangeSpace.model_validate(space)
                except ValidationError as e:
                    why = "; ".join(
                        "".join(f"{x}: " for x in err["loc"]) + err["msg"].removeprefix("Value error, ")
                        for err in e.errors()
                    )
                    raise ValueError(f"{name}: {why}") from None
            else:
                raise ValueError(
                    f"{name}: {space!r} is not a space; give a list of choices (e.g. [0.1, 1.0]) "
                    "or a range {low: 0.01, high: 10, log: true}"
                )
        return out


class SearchConfig(Strict):
    """Model selection: candidates searched by time-aware cross-validation within a budget."""

    candidates: list[CandidateConfig] = Field(min_length=1)
    trials: Annotated[int, Field(ge=1, le=200)] = Field(
        default=20, description="At most this many trials (fewer when every finite space is exhausted)."
    )
    minutes: Annotated[float, Field(gt=0)] = Field(
        default=30.0, description="Trials not started this many minutes after planning are skipped."
    )
    folds: Annotated[int, Field(ge=2, le=10)] = Field(
        default=3, description="Expanding-window folds over the training part, the newest last."
    )
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = Field(
        default=None, description="Seed of the sampler; default split.seed."
    )


class ModelConfig(Strict):
    """A scikit-learn estimator by import path and its parameters, or a search among candidates."""

    estimator: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    search: SearchConfig | None = Field(
        default=None,
        description="Instead of estimator and params: candidates searched within a budget.",
    )
    registered_name: str | None = None
    max_categories: Annotated[int, Field(ge=2)] = 30
    allow_pickle: bool = Field(
        default=False,
        description="Load model versions serialized with pickle, which runs code when loaded (skops only by default).",
    )

    @field_validator("estimator")
    @classmethod
    def _import_path(cls, v: str | None) -> str | None:
        if v is not None and not _IMPORT_PATH.fullmatch(v):
            raise ValueError("must be an import path such as sklearn.linear_model.LogisticRegression")
        return v

    @model_validator(mode="after")
    def _one_model(self) -> ModelConfig:
        if self.search is None and self.estimator is None:
            raise ValueError("estimator: required (or model.search, to choose among candidates)")
        if self.search is not None and self.estimator is not None:
            raise ValueError(
                "estimator and search exclude each other: a search chooses the estimator among "
                "search.candidates"
            )
        if self.search is not None and self.params:
            raise ValueError(
                "params and search exclude each other: give fixed values as one-choice lists in "
                "search.candidates[].params"
            )
        return self

    @property
    def estimators(self) -> list[str]:
        """Every estimator this config may train: the fixed one, or each candidate's."""
        if self.search is not None:
            return list(dict.fromkeys(c.estimator for c in self.search.candidates))
        return [self.estimator] if self.estimator else []


class SplitConfig(Strict):
    """How training data is chosen and split: by time, the newest part held out."""

    training_window_days: Annotated[int, Field(ge=1, le=365)] = 14
    test_fraction: Annotated[float, Field(gt=0, lt=0.9)] = 0.2
    min_training_rows: Annotated[int, Field(ge=10)] = 100
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 42
    on_vanished: Literal["fail", "skip"] | None = Field(
        default=None,
        description="An interval of the window that ingest committed and that is now gone from the "
        "lake: fail (the default, also when unset) stops training with an error naming it; skip "
        "trains without it and records it in the log, the version's tags and the model card.",
    )


#: Labelled rows neither model trained on that the gate needs to compare a candidate with the
#: champion, unless ``gate.min_holdout_rows`` says otherwise: fewer make a roc_auc or an accuracy
#: move by several hundredths by chance alone.
DEFAULT_MIN_HOLDOUT_ROWS: Final = 100


class GateConfig(Strict):
    """The promotion gate: a candidate becomes champion only if it passes."""

    metric: str
    minimum: float = Field(description="Absolute minimum of the metric (a maximum for lower-is-better).")
    min_improvement: Annotated[float, Field(ge=0)] = 0.0
    min_holdout_rows: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Fewest labelled rows that neither candidate nor champion trained on for the gate "
        f"to compare them (default {DEFAULT_MIN_HOLDOUT_ROWS}); with fewer, the champion stays.",
    )
    approval: Literal["none", "required"] = Field(
        default="none",
        description="required: a candidate that passes the gate waits for a person's approval.",
    )
    approval_timeout_minutes: Annotated[int, Field(ge=1, le=60 * 24 * 30)] = Field(
        default=1440, description="How long the approval waits; no answer in time counts as a rejection."
    )
    slices: list[str] = Field(
        default_factory=list,
        description="Columns whose values cut the held-out rows into slices (an airport, a customer "
        "group): the gate metric is computed per slice for candidate and champion and recorded.",
    )
    min_slice_rows: Annotated[int, Field(ge=1)] = Field(
        default=30, description="A slice with fewer held-out rows is recorded but not judged."
    )
    max_slice_regression: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        description="Refuse a candidate worse than the champion by more than this on any judged slice "
        "(unset: slices are recorded, not judged against the champion).",
    )
    max_slice_gap: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        description="Refuse a candidate whose best and worst judged slices of a column differ by more "
        "than this (a fairness bound across groups).",
    )

    @model_validator(mode="after")
    def _slices_named(self) -> GateConfig:
        dupes = sorted({c for c in self.slices if self.slices.count(c) > 1})
        if dupes:
            raise ValueError(f"slices: {dupes} listed twice")
        for field in ("max_slice_regression", "max_slice_gap"):
            if getattr(self, field) is not None and not self.slices:
                raise ValueError(f"{field} is set but gate.slices names no column to cut slices by")
        return self

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric][1]

    @property
    def held_out_minimum(self) -> int:
        """``min_holdout_rows``, or its default when unset."""
        return self.min_holdout_rows or DEFAULT_MIN_HOLDOUT_ROWS
