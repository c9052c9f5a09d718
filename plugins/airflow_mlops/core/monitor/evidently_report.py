"""The Evidently 0.7 adapter: a batch and its reference in, an Evidently report out. With
report_json (its JSON shape) this is all that knows Evidently's types, column mappings and presets,
so that a new Evidently version changes these two. Evidently and pandas are imported lazily.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataContractError
from airflow_mlops.core.model.modeling import PREDICTION, PROBABILITY
from airflow_mlops.core.monitor import methods
from airflow_mlops.core.monitor.sketch import Kind, declared_kind

if TYPE_CHECKING:
    import pandas as pd


def _kind(cfg: PipelineConfig, column: str, s: pd.Series) -> Kind:
    """Numerical or categorical, from the pipeline's schema (dtype only for unknown columns)."""
    import pandas as pd

    declared = declared_kind(cfg.data_schema.columns.get(column))
    if declared is not None:
        return declared
    if pd.api.types.is_bool_dtype(s):
        return "cat"
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return "num"
    return "cat"


def _numeric(s: pd.Series) -> pd.Series:
    """float64 with NaN for missing: Evidently does not know pandas' nullable dtypes (it says 'unknown')."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s):
        ts = pd.to_datetime(s, utc=True)
        return (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    if pd.api.types.is_bool_dtype(s):
        s = s.astype("Float64")
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _categorical(s: pd.Series) -> pd.Series:
    """Plain Python strings (object dtype) with None for missing."""
    return s.astype("string").astype(object).where(s.notna(), None)


def _is_binary(s: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_bool_dtype(s) or set(s.dropna().unique().tolist()) <= {0, 1}


def _labels(s: pd.Series, binary: bool) -> pd.Series:
    """0/1 integers for binary tasks (booleans fail inside Evidently: "mix of binary and continuous
    targets"), strings otherwise."""
    if binary:
        out = _numeric(s)
        return out.astype("int64") if out.notna().all() else out
    return _categorical(s)


def _usable(df: pd.DataFrame, column: str) -> bool:
    return column in df.columns and bool(df[column].notna().any())


def _complete(df: pd.DataFrame, columns: list[str]) -> bool:
    return all(c in df.columns and bool(df[c].notna().all()) for c in columns)


@dataclass(frozen=True)
class _Plan:
    """Which columns go to Evidently, with which role and kind."""

    drift: list[str]  # tested by Evidently
    empty: list[str]  # drift columns without a value on one side: nothing to test, reported as drifted
    kinds: dict[str, Kind]
    prediction: bool
    probability: bool
    target: str | None  # set when quality is computed in the main report
    quality_apart: bool  # quality from current alone (the reference cannot carry it)
    binary: bool


def _plan(cfg: PipelineConfig, current: pd.DataFrame, reference: pd.DataFrame) -> _Plan:
    cols = cfg.drift_columns
    for name, df in (("current", current), ("reference", reference)):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataContractError(f"{cfg.name}: drift columns {missing} are missing from the {name} data")
    if current.empty or reference.empty:
        raise DataContractError(
            f"{cfg.name}: drift needs rows on both sides (current {len(current)}, reference {len(reference)})"
        )
    task = cfg.data_schema.task
    target = cfg.data_schema.target

    def usable(c: str) -> bool:
        return _usable(current, c) and _usable(reference, c)

    empty = [c for c in cols if not usable(c)]
    kinds: dict[str, Kind] = {c: _kind(cfg, c, current[c]) for c in cols if c not in empty}
    prediction = usable(PREDICTION) and PREDICTION not in cols
    probability = task == "classification" and usable(PROBABILITY) and PROBABILITY not in cols
    # Labels are 0/1 integers when every label column is boolean or 0/1, strings otherwise, on
    # both sides alike (a drift test compares values, so the encodings must match).
    label_series = [df[c] for df in (current, reference) for c in (target, PREDICTION) if _usable(df, c)]
    binary = task == "classification" and all(_is_binary(s) for s in label_series)
    labelled = _usable(current, target) and _usable(current, PREDICTION)
    # In one report Evidently computes quality on both sides with one column mapping, so the
    # reference must carry the same columns, and classification metrics fail on missing values.
    quality_cols = [target, PREDICTION, *([PROBABILITY] if probability else [])]
    in_report = (
        labelled
        and prediction
        and all(_complete(df, quality_cols) for df in (current, reference))
        and (task == "regression" or _usable(current, PROBABILITY) == probability)
    )
    if in_report:
        kinds[target] = methods.label_kind(cfg)
    if prediction:
        kinds[PREDICTION] = methods.label_kind(cfg)
    if probability:
        kinds[PROBABILITY] = "num"
    return _Plan(
        drift=[c for c in cols if c not in empty],
        empty=empty,
        kinds=kinds,
        prediction=prediction,
        probability=probability,
        target=target if in_report else None,
        quality_apart=labelled and not in_report,
        binary=binary,
    )


def _evidently_frame(
    cfg: PipelineConfig, df: pd.DataFrame, kinds: dict[str, Kind], binary: bool
) -> pd.DataFrame:
    """Only the needed columns, in dtypes Evidently understands."""
    import pandas as pd

    out = pd.DataFrame(index=df.index)
    label_cols = {cfg.data_schema.target, PREDICTION} if cfg.data_schema.task == "classification" else set()
    for col, kind in kinds.items():
        if col in label_cols:
            out[col] = _labels(df[col], binary)
        else:
            out[col] = _numeric(df[col]) if kind == "num" else _categorical(df[col])
    return out.reset_index(drop=True)


def _definition(cfg: PipelineConfig, kinds: dict[str, Kind], plan: _Plan, target: str | None) -> Any:
    from evidently import BinaryClassification, DataDefinition, MulticlassClassification, Regression

    classification: list[Any] | None = None
    regression: list[Any] | None = None
    if target is not None and cfg.data_schema.task == "regression":
        regression = [Regression(target=target, prediction=PREDICTION)]
    elif target is not None and plan.binary:
        probas = PROBABILITY if PROBABILITY in kinds else None
        binary = BinaryClassification(
            target=target, prediction_labels=PREDICTION, prediction_probas=probas, pos_label=1
        )
        classification = [binary]
    elif target is not None:
        classification = [MulticlassClassification(target=target, prediction_labels=PREDICTION)]
    return DataDefinition(
        numerical_columns=[c for c, k in kinds.items() if k == "num"],
        categorical_columns=[c for c, k in kinds.items() if k == "cat"],
        classification=classification,
        regression=regression,
    )


def _quality_preset(cfg: PipelineConfig) -> Any:
    # Its default tests stay on: include_tests=False crashes in 0.7.23 (by-label gets a list).
    from evidently.presets import ClassificationPreset, RegressionPreset

    return RegressionPreset() if cfg.data_schema.task == "regression" else ClassificationPreset()


def build_report(
    cfg: PipelineConfig, current: pd.DataFrame, reference: pd.DataFrame
) -> tuple[Any, dict[str, Any]]:
    """Run the Evidently report; returns the snapshot (for HTML) and its JSON-ready dict. When the
    reference cannot carry the quality columns, quality comes from a second run over the labelled
    current rows alone: merged into the dict, while the HTML shows drift only."""
    from evidently import Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    plan = _plan(cfg, current, reference)
    methods.check_config(cfg, plan.kinds, [*plan.drift, *([PREDICTION] if plan.prediction else [])])
    definition = _definition(cfg, plan.kinds, plan, plan.target)
    method, threshold = cfg.drift.method, cfg.drift.method_threshold
    per_method = {c: p.method for c, p in cfg.drift.per_column.items() if p.method and c in plan.drift}
    per_threshold = {
        c: p.threshold for c, p in cfg.drift.per_column.items() if p.threshold is not None and c in plan.drift
    }
    items: list[Any] = []
    if plan.drift:
        preset = DataDriftPreset(
            columns=plan.drift,
            drift_share=cfg.drift.threshold,
            method=method,
            threshold=threshold,
            per_column_method=per_method or None,
            per_column_threshold=per_threshold or None,
        )
        items.append(preset)
    if plan.prediction:
        items.append(ValueDrift(column=PREDICTION, method=method, threshold=threshold))
    if plan.target is not None:
        items.append(_quality_preset(cfg))
    with warnings.catch_warnings():
        # Evidently's binned error plots score bins of one row; sklearn warns about each.
        warnings.filterwarnings("ignore", message=".*not well-defined with less than two samples")
        cur, ref = (
            Dataset.from_pandas(
                _evidently_frame(cfg, df, plan.kinds, plan.binary), data_definition=definition
            )
            for df in (current, reference)
        )
        snapshot = Report(items, include_tests=True).run(cur, ref)
        result: dict[str, Any] = json.loads(snapshot.json())
        if plan.quality_apart:
            result = _merge_quality_apart(cfg, plan, current, result)
    return snapshot, {**result, "empty_columns": plan.empty}


def _merge_quality_apart(
    cfg: PipelineConfig, plan: _Plan, current: pd.DataFrame, result: dict[str, Any]
) -> dict[str, Any]:
    """Quality over the labelled (and predicted) current rows alone, merged into the report's dict."""
    from evidently import Dataset, Report

    task = cfg.data_schema.task
    target = cfg.data_schema.target
    kinds: dict[str, Kind] = {target: methods.label_kind(cfg), PREDICTION: methods.label_kind(cfg)}
    if task == "classification" and plan.binary and _usable(current, PROBABILITY):
        kinds[PROBABILITY] = "num"
    labelled = current[current[list(kinds)].notna().all(axis=1)]
    frame = _evidently_frame(cfg, labelled, kinds, plan.binary)
    snapshot = Report([_quality_preset(cfg)]).run(
        Dataset.from_pandas(frame, data_definition=_definition(cfg, kinds, plan, target)), None
    )
    extra = json.loads(snapshot.json())
    return {
        **result,
        "metrics": [*result["metrics"], *extra["metrics"]],
        "tests": [*result["tests"], *extra["tests"]],
        "quality_rows": len(labelled),
    }
