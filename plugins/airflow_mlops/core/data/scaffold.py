"""Scaffold: a starter pipeline YAML and expectation suite from a sample of the data.

``airflow-mlops init`` reads a sample file and decides what a person would otherwise write by
hand: each column's type, the task (from the target), the features, and a suite of what the
sample shows with a margin. Types are inferred through ingest's own coercion
(:func:`~airflow_mlops.core.data.sources.coerce.coerce_column`), so every type written is one ingest accepts
for the same bytes. Everything written is a starting point: :attr:`Scaffold.review` lists what a
person must decide, and both files are checked by the same loaders as ``airflow-mlops check``
before either is written. No Airflow here.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation.config import (
    PIPELINE_NAME,
    ColumnType,
    RawFormat,
    TaskType,
    format_of,
    parse_pipeline,
)
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError, DataNotFoundError

if TYPE_CHECKING:
    import pandas as pd

#: A string column with more distinct values than this is free text (or a code of too many
#: values), not a category: one-hot encoding it would learn the sample by heart.
MAX_CATEGORIES: Final = 250
#: ... and so is one whose distinct values exceed this share of its values (in samples of at least
#: MIN_ROWS_FOR_SHARES rows: in fewer, every share is noise).
MAX_CATEGORY_SHARE: Final = 0.5
MIN_ROWS_FOR_SHARES: Final = 20
#: An int target with at most this many distinct values is a class label, not a quantity.
MAX_INT_CLASSES: Final = 10
#: Numeric bounds are the sample's range widened by this share of it on each side.
RANGE_MARGIN: Final = 0.5
#: Share of a category column's values that must be among the sample's categories.
CATEGORY_MOSTLY: Final = 0.99
#: The share of empty values allowed is this multiple of the sample's.
NULL_MARGIN: Final = 2.0
#: Gate floors of a first model: clearly better than guessing, far from a goal.
ROC_AUC_FLOOR: Final = 0.6
BALANCED_ACCURACY_OVER_CHANCE: Final = 0.1
R2_FLOOR: Final = 0.1
#: The type name Great Expectations observes for each declared type in a snapshot read back from
#: the lake (its ``expect_column_values_to_be_of_type`` compares against these).
GX_TYPES: Final[dict[str, str]] = {
    "int": "int64",
    "float": "float64",
    "string": "str",
    "category": "str",
    "bool": "bool",
    "datetime": "Timestamp",
    "date": "Timestamp",
}
#: A sample is read and profiled whole, in memory (pandas takes several times a CSV's size): a
#: bigger file is refused with a way to thin it, not read until the machine runs out of memory.
MAX_SAMPLE_BYTES: Final = 256 * 2**20
#: Values a type is tried on before the whole column: most text fails on the first of them, and
#: parsing a long column of words as dates one by one costs seconds.
PROBE_ROWS: Final = 50
_INT_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")
_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid)($|[_\W])|^(rownames|row_?number|index|unnamed: ?0)$", re.I)
_ID_CAMEL = re.compile(r"[a-z0-9](Id|ID|Uuid|UUID)$")
_YAML_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


@dataclass(frozen=True)
class ColumnProfile:
    """What the sample shows of one column, typed as ingest would type it."""

    name: str
    kind: ColumnType
    rows: int
    nulls: int
    distinct: int
    minimum: float | None = None
    maximum: float | None = None
    #: The distinct values, sorted, when there are at most MAX_CATEGORIES of them.
    values: tuple[Any, ...] | None = None
    #: Some value holds a space: words, not a code.
    spaced: bool = False

    @property
    def null_share(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class Scaffold:
    """Every decision ``init`` made, and what a person should review."""

    name: str
    sample: Path
    format: RawFormat
    rows: int
    columns: dict[str, ColumnProfile]
    target: str
    task: TaskType
    task_reason: str
    time_column: str | None
    numeric: list[str]
    categorical: list[str]
    left_out: dict[str, str]
    metrics: list[str]
    gate_metric: str
    gate_minimum: float
    gate_reason: str
    start_date: date
    review: list[str]

    def summary(self) -> str:
        """What was decided, in the few lines ``init`` prints."""
        lines = [
            f"{self.name}: {self.task} of {self.target!r} ({self.task_reason}), "
            f"from {self.rows} rows of {self.sample.name}",
            f"  numeric features:     {', '.join(self.numeric) or 'none'}",
            f"  categorical features: {', '.join(self.categorical) or 'none'}",
            f"  time column:          {self.time_column or 'none (each batch gives its records their time)'}",
            f"  gate:                 {self.gate_metric} >= {self.gate_minimum:g} ({self.gate_reason})",
        ]
        if self.left_out:
            lines.append("  left out of the features:")
            lines += [f"    {c}: {why}" for c, why in self.left_out.items()]
        return "\n".join(lines)


# --- reading and typing the sample -----------------------------------------------------------------
def read_sample(path: Path, fmt: RawFormat) -> pd.DataFrame:
    """The sample as ingest reads a raw file (CSV cells as text), or an error naming the file."""
    from airflow_mlops.core.data.ingest import parse_raw

    try:
        size = path.stat().st_size
        if size > MAX_SAMPLE_BYTES:
            raise DataContractError(
                f"{path}: the sample is {size / 2**20:,.0f} MiB, over the {MAX_SAMPLE_BYTES // 2**20} MiB "
                "a sample may be (it is read whole); pass a part of it that spans its variety, for "
                "example every 100th line of a CSV: awk 'NR == 1 || NR % 100 == 0' FILE > sample.csv"
            )
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise DataNotFoundError(f"{path}: sample file not found") from e
    except OSError as e:
        raise DataContractError(f"{path}: the sample cannot be read: {e.strerror or e}") from e
    df = parse_raw(data, fmt, str(path))
    if not len(df.columns):
        raise DataContractError(f"{path}: the sample has no columns")
    odd = [c for c in df.columns if not isinstance(c, str) or not c.strip()]
    if odd:
        raise DataContractError(f"{path}: column names must be non-empty text, not {odd}")
    if not len(df):
        raise DataContractError(f"{path}: the sample has no rows (only a header?)")
    return df


def _text(s: pd.Series) -> pd.Series:
    """The values as they would be written in a CSV cell (nulls stay null)."""
    return s.astype("object").where(s.notna(), None).map(lambda v: v if v is None else str(v))


def _candidates(s: pd.Series) -> list[ColumnType]:
    """Types to try, most specific first. A column the file typed (Parquet, JSON numbers) keeps
    its type; text is tried as int, float, bool, time, in that order."""
    import pandas as pd

    api = pd.api.types
    if api.is_bool_dtype(s.dtype):
        return ["bool"]
    if api.is_integer_dtype(s.dtype):
        return ["int"]
    if api.is_float_dtype(s.dtype):
        return ["float"]
    if api.is_datetime64_any_dtype(s.dtype):
        return ["datetime"]
    present = _text(s.dropna())
    out: list[ColumnType] = []
    if present.map(lambda v: bool(_INT_TEXT.match(v))).all():
        out.append("int")  # digits only: "151.0" is a float, as written
    return [*out, "float", "bool", "datetime"]


def infer_column(s: pd.Series, column: str, where: str) -> tuple[ColumnType, pd.Series]:
    """The first type under which ingest's coercion accepts every value of ``s``, and the column
    coerced to it; text that is nothing else is a string."""
    from airflow_mlops.core.data.sources.coerce import coerce_column

    if s.notna().any():
        for kind in _candidates(s):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pandas' "could not infer format" on non-dates
                    # The text form first: Python bools in a JSON column must not pass as numbers.
                    if s.dtype == object:
                        coerce_column(_text(s.dropna().head(PROBE_ROWS)), kind, column, where)
                        coerce_column(_text(s), kind, column, where)
                    out = coerce_column(s, kind, column, where)
            except (DataContractError, ValueError, TypeError, OverflowError):
                continue
            if (
                kind == "datetime"
                and out.notna().any()
                and (out.dropna() == out.dropna().dt.normalize()).all()
            ):
                return "date", out  # every time at midnight: the column holds days
            return kind, out
    return "string", coerce_column(s, "string", column, where)


def profile(s: pd.Series, column: str, where: str) -> ColumnProfile:
    """A column's type as ingest would type it, and what the sample shows of it."""
    import numpy as np

    kind, out = infer_column(s, column, where)
    present = out.dropna()
    distinct = int(present.nunique())
    low = high = None
    if kind in ("int", "float") and len(present):
        finite = present.astype("float64")
        finite = finite[np.isfinite(finite)]
        if len(finite):
            low, high = float(finite.min()), float(finite.max())
    values = None
    if distinct <= MAX_CATEGORIES and kind in ("int", "string", "bool"):
        values = tuple(sorted(_plain(v) for v in present.unique()))
    spaced = kind == "string" and bool(present.astype("string").str.contains(r"\s", regex=True).any())
    return ColumnProfile(column, kind, len(out), int(out.isna().sum()), distinct, low, high, values, spaced)


def _plain(v: Any) -> Any:
    """A numpy or pandas scalar as the JSON value it stands for."""
    if isinstance(v, bool | str | int | float):
        return v
    item = getattr(v, "item", None)
    return item() if callable(item) else str(v)


# --- decisions -------------------------------------------------------------------------------------
def decide_task(p: ColumnProfile) -> tuple[TaskType, str]:
    """Regression for a float target or an int one with many values; classification for a bool,
    a string, or an int of at most MAX_INT_CLASSES values."""
    if p.kind == "float":
        return "regression", "a float target"
    if p.kind == "int":
        if p.distinct <= MAX_INT_CLASSES:
            return "classification", f"an int target with {p.distinct} distinct values"
        return "regression", f"an int target with {p.distinct} distinct values (more than {MAX_INT_CLASSES})"
    if p.kind == "bool":
        return "classification", "a bool target"
    if p.kind in ("string", "category"):
        return "classification", f"a text target with {p.distinct} classes"
    raise ConfigError(
        f"--target: {p.name!r} holds {p.kind} values; a target must be a number, a bool or a label"
    )


def _is_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name) or _ID_CAMEL.search(name))


def left_out_reason(p: ColumnProfile) -> str | None:
    """Why a column cannot be a feature, or None when it can."""
    present = p.rows - p.nulls
    if not present:
        return "empty in the sample: nothing to learn from"
    if p.kind in ("datetime", "date"):
        return (
            "a time: name it with --time-column if it says when a record happened, "
            "or derive its parts (hour, weekday) with schema.derive"
        )
    if p.distinct == 1:
        return f"one value in all {present} sample rows: nothing to learn from"
    if p.kind in ("int", "string", "category"):
        if _is_id_name(p.name):
            return "an identifier (by its name): it names a record, it does not describe one"
        if p.distinct == present >= MIN_ROWS_FOR_SHARES and not p.spaced:  # words are free text
            return f"an identifier (unique in each of {present} rows): it names a record, it does not describe one"
    crowded = p.distinct > MAX_CATEGORIES or (
        present >= MIN_ROWS_FOR_SHARES and p.distinct > MAX_CATEGORY_SHARE * present
    )
    if p.kind in ("string", "category") and crowded:
        return (
            f"free text ({p.distinct} distinct values in {present} rows): one-hot encoding it would "
            "learn the sample by heart; derive a coarser category with schema.derive if it matters"
        )
    return None


def gate_floor(task: TaskType, classes: int) -> tuple[str, float, list[str], str]:
    """The gate metric, its floor, the metrics logged, and why: a first model must be clearly
    better than guessing, which is all a sample can tell."""
    if task == "regression":
        return "r2", R2_FLOOR, ["r2", "rmse", "mae"], "explains a tenth of the variance"
    if classes == 2:
        return (
            "roc_auc",
            ROC_AUC_FLOOR,
            ["roc_auc", "balanced_accuracy", "accuracy", "log_loss"],
            "ranks better than chance, which is 0.5",
        )
    floor = round(1 / classes + BALANCED_ACCURACY_OVER_CHANCE, 3)
    return (
        "balanced_accuracy",
        floor,
        ["balanced_accuracy", "accuracy", "f1"],
        f"0.1 above chance (1/{classes}) for {classes} classes",
    )


def plan(
    name: str,
    sample: Path,
    target: str,
    *,
    time_column: str | None = None,
    fmt: RawFormat | None = None,
    start_date: date | None = None,
) -> Scaffold:
    """Read the sample and decide the pipeline; nothing is written."""
    if not PIPELINE_NAME.match(name):
        raise ConfigError(
            f"name: {name!r} must be lower case letters, digits and underscores, starting with a letter"
        )
    sample = Path(sample)
    fmt = fmt or format_of(sample.name)
    df = read_sample(sample, fmt)
    for flag, col in (("--target", target), ("--time-column", time_column)):
        if col is not None and col not in df.columns:
            close = difflib.get_close_matches(col, [str(c) for c in df.columns], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{flag}: {col!r} is not a column of {sample}{hint}; its columns are {list(df.columns)}"
            )
    if time_column is not None and time_column == target:
        raise ConfigError(f"--time-column: {time_column!r} is the target")
    columns = {c: profile(df[c], c, str(sample)) for c in df.columns}
    t = columns[target]
    if t.nulls == t.rows:
        raise DataContractError(f"{sample}: the target column {target!r} is empty in every row")
    task, task_reason = decide_task(t)
    if task == "classification" and t.distinct < 2:
        raise ConfigError(
            f"--target: {target!r} has one value ({t.values[0] if t.values else '?'!r}) in all "
            f"{t.rows - t.nulls} labelled rows of {sample}: there is nothing to tell apart"
        )
    if task == "classification" and t.kind == "string":
        columns[target] = _as(t, "category")
    if time_column is not None and columns[time_column].kind not in ("datetime", "date"):
        raise ConfigError(
            f"--time-column: {time_column!r} holds {columns[time_column].kind} values in {sample}, "
            "not times ingest can read as datetime or date"
        )
    numeric: list[str] = []
    categorical: list[str] = []
    left_out: dict[str, str] = {}
    for col, p in columns.items():
        if col in (target, time_column):
            continue
        why = left_out_reason(p)
        if why:
            left_out[col] = why
        elif p.kind in ("int", "float"):
            numeric.append(col)
        else:
            categorical.append(col)
            if p.kind == "string":
                columns[col] = _as(p, "category")
    if not numeric and not categorical:
        reasons = "; ".join(f"{c}: {why}" for c, why in left_out.items()) or "the sample has no other column"
        raise ConfigError(f"{sample}: no column can be a feature of {target!r}: {reasons}")
    metric, floor, metrics, gate_reason = gate_floor(task, t.distinct)
    sc = Scaffold(
        name=name,
        sample=sample,
        format=fmt,
        rows=len(df),
        columns=columns,
        target=target,
        task=task,
        task_reason=task_reason,
        time_column=time_column,
        numeric=numeric,
        categorical=categorical,
        left_out=left_out,
        metrics=metrics,
        gate_metric=metric,
        gate_minimum=floor,
        gate_reason=gate_reason,
        start_date=start_date or datetime.now(UTC).date(),
        review=[],
    )
    return dataclasses.replace(sc, review=_review(sc))


def _as(p: ColumnProfile, kind: ColumnType) -> ColumnProfile:
    return ColumnProfile(p.name, kind, p.rows, p.nulls, p.distinct, p.minimum, p.maximum, p.values, p.spaced)


def _review(sc: Scaffold) -> list[str]:
    """What a person must decide: the things a sample cannot tell."""
    out = [
        f"source.uri: each data interval's raw file is expected at ${{AIRFLOW_MLOPS_RAW_ROOT}}/{sc.name}/"
        f"{{ds}}.{sc.format}; point it at where your files arrive.",
        f"schema.task: {sc.task} ({sc.task_reason}); change it if {sc.target!r} means something else.",
        "features: would each be known when a prediction is made? A feature computed from the "
        f"outcome (after {sc.target!r} is known) makes a model that looks good and fails in use.",
        f"gate.minimum: {sc.gate_metric} >= {sc.gate_minimum:g} only says the model beats guessing; "
        "raise it to what the model must reach to be worth using.",
        "expectations: bounds are the sample's range widened by half of it, category sets and "
        "empty shares are the sample's; replace them with the real limits of the data where you know them.",
        "expectations: the row count has only a lower bound of 1; set the fewest (and most) rows a "
        "batch may hold (meta.bounds_per: day scales them with the interval).",
        f"schedules: ingest @daily from {sc.start_date.isoformat()}, train only on demand or on drift; "
        "set when your data arrives and when to retrain.",
    ]
    if sc.left_out:
        out.append(
            f"left out: {', '.join(sc.left_out)} (reasons in the YAML); make any of them a feature "
            "if it describes a record."
        )
    times = [c for c, p in sc.columns.items() if p.kind in ("datetime", "date") and c != sc.time_column]
    if times and sc.time_column is None:
        out.append(
            f"schema.time_column: {', '.join(times)} look like times; if one says when a record "
            "happened, run init again with --time-column (training then holds out the newest records)."
        )
    t = sc.columns[sc.target]
    if t.nulls:
        out.append(f"target: {t.nulls} of {t.rows} sample rows have no {sc.target!r}; training skips them.")
    if sc.rows < 100:
        out.append(f"the sample has only {sc.rows} rows: every bound drawn from it is a guess.")
    return out


# --- what is written -------------------------------------------------------------------------------
def _y(s: str) -> str:
    """A YAML scalar: plain when safe, else JSON's double-quoted form (which YAML reads too)."""
    return s if _YAML_PLAIN.match(s) and s.lower() not in _YAML_WORDS else json.dumps(s)


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(_y(i) for i in items) + "]"


def pipeline_yaml(sc: Scaffold) -> str:
    """The pipeline file, with a comment on every decision a person should know about."""
    estimator = (
        "HistGradientBoostingClassifier" if sc.task == "classification" else "HistGradientBoostingRegressor"
    )
    width = max(len(_y(c)) for c in sc.columns)
    col_lines = []
    for c, p in sc.columns.items():
        note = (
            "  # the target"
            if c == sc.target
            else "  # the time column"
            if c == sc.time_column
            else f"  # not a feature: {sc.left_out[c]}"
            if c in sc.left_out
            else ""
        )
        col_lines.append(f"    {_y(c) + ':':<{width + 1}} {p.kind}{note}")
    time_line = (
        f"  time_column: {_y(sc.time_column)}"
        if sc.time_column
        else "  # No time_column: each record takes its batch's data interval as its time\n"
        "  # (run init with --time-column if a column says when a record happened)."
    )
    text = f"""\
# {sc.name}: written by `airflow-mlops init` from {sc.sample.name} ({sc.rows} rows).
# A starting point, not a finished pipeline: read the REVIEW notes, then `airflow-mlops check`.
name: {sc.name}
description: {json.dumps(f"Predict {sc.target} ({sc.task}); scaffolded from a sample, to be reviewed.")}
owner: airflow-mlops
tags: [scaffolded, {sc.task}]

source:
  # REVIEW: where each data interval's raw file arrives ({{ds}} is the interval's first day).
  uri: ${{AIRFLOW_MLOPS_RAW_ROOT}}/{sc.name}/{{ds}}.{sc.format}
  format: {sc.format}

schema:
  # Types as ingest reads {sc.sample.name}: each is the first that every sample value converts to.
  columns:
{chr(10).join(col_lines)}
  target: {_y(sc.target)}
  # {sc.task_reason}
  task: {sc.task}
{time_line}

features:
  numeric: {_flow(sc.numeric)}
  categorical: {_flow(sc.categorical)}

model:
  estimator: sklearn.ensemble.{estimator}
  params:
    max_iter: 100

split:
  training_window_days: 14
  test_fraction: 0.2
  min_training_rows: 100

metrics: {_flow(sc.metrics)}

gate:
  # REVIEW: a floor a first model must clear ({sc.gate_reason}), not a goal.
  metric: {sc.gate_metric}
  minimum: {sc.gate_minimum!r}
  min_improvement: 0.0

validation:
  suite: {sc.name}.json
  on_failure: fail

schedules:
  # REVIEW: when data arrives, and when to retrain (null: on demand and on drift).
  ingest: "@daily"
  train: null
  start_date: {sc.start_date.isoformat()}
  catchup: false
"""
    return text


def _down(x: float, integer: bool) -> float | int:
    return math.floor(x) if integer else math.floor(x * 1e6) / 1e6


def _up(x: float, integer: bool) -> float | int:
    return math.ceil(x) if integer else math.ceil(x * 1e6) / 1e6


def _expectation(etype: str, notes: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": etype, "kwargs": kwargs, "notes": notes}


def suite(sc: Scaffold) -> dict[str, Any]:
    """The expectation suite: columns present, their types, empty shares, numeric ranges and
    category sets with a margin, and a row count with only a lower bound. Ranges and sets are
    drawn only for the columns the model uses (features and target): an identifier's range or a
    time's moves with every batch, and would fail the next one."""
    n = sc.rows
    modelled = {*sc.numeric, *sc.categorical, sc.target}
    exps = [
        _expectation(
            "expect_table_row_count_to_be_between",
            "Not empty. REVIEW: the sample cannot say how many rows a batch holds; set the bounds.",
            min_value=1,
        ),
        _expectation(
            "expect_table_columns_to_match_set",
            f"The columns of {sc.sample.name}.",
            column_set=list(sc.columns),
            exact_match=True,
        ),
    ]
    for c, p in sc.columns.items():
        exps.append(
            _expectation(
                "expect_column_values_to_be_of_type",
                f"Declared {p.kind} in schema.columns.",
                column=c,
                type_=GX_TYPES[p.kind],
            )
        )
        allowed = min(1.0, NULL_MARGIN * p.null_share)
        if not p.nulls:
            exps.append(
                _expectation(
                    "expect_column_values_to_not_be_null", f"Never empty in {n} sample rows.", column=c
                )
            )
        elif allowed < 1.0:
            exps.append(
                _expectation(
                    "expect_column_values_to_not_be_null",
                    f"{p.nulls} of {n} sample rows were empty ({p.null_share:.1%}); up to twice that share may be.",
                    column=c,
                    mostly=math.floor((1.0 - allowed) * 1000) / 1000,
                )
            )
        if c not in modelled:
            continue
        if p.minimum is not None and p.maximum is not None:
            integer = p.kind == "int"
            span = p.maximum - p.minimum
            margin = RANGE_MARGIN * span if span else RANGE_MARGIN * abs(p.minimum) or 1.0
            exps.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    f"The sample ranged from {p.minimum:g} to {p.maximum:g}; widened by half that range "
                    "on each side. REVIEW: use the real limits where you know them.",
                    column=c,
                    min_value=_down(p.minimum - margin, integer),
                    max_value=_up(p.maximum + margin, integer),
                )
            )
        if p.values is not None and (
            p.kind == "category" or (c == sc.target and sc.task == "classification")
        ):
            strict = c == sc.target
            kwargs: dict[str, Any] = {"column": c, "value_set": list(p.values)}
            if not strict:
                kwargs["mostly"] = CATEGORY_MOSTLY
            exps.append(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    f"The {len(p.values)} values of the sample."
                    + (
                        " Every label must be a class the model knows."
                        if strict
                        else " At most 1% may be new."
                    ),
                    **kwargs,
                )
            )
    return {
        "name": sc.name,
        "notes": f"Written by airflow-mlops init from {sc.sample.name} ({n} rows): what the sample "
        "showed, with margins. Review it before trusting it.",
        "meta": {"pipeline": sc.name, "scaffold": {"sample": sc.sample.name, "rows": n}},
        "expectations": exps,
    }


def write(
    sc: Scaffold, pipelines_dir: Path, expectations_dir: Path, *, force: bool = False
) -> tuple[Path, Path]:
    """Write ``<pipelines_dir>/<name>.yaml`` and ``<expectations_dir>/<name>.json``, each through
    a temporary name and a rename, after both were checked as ``airflow-mlops check`` checks them;
    existing files are refused unless ``force``."""
    from airflow_mlops.core.data.suite import check_columns, load_suite

    yaml_path = Path(pipelines_dir) / f"{sc.name}.yaml"
    json_path = Path(expectations_dir) / f"{sc.name}.json"
    existing = [str(p) for p in (yaml_path, json_path) if p.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing)}: already exist(s); pass --force to overwrite")
    text = pipeline_yaml(sc)
    cfg = parse_pipeline(text, str(yaml_path))  # a bug here must not reach the user's folder
    staged: list[tuple[str, Path]] = []
    try:
        staged.append((_stage(yaml_path, text), yaml_path))
        tmp_suite = _stage(json_path, json.dumps(suite(sc), indent=2) + "\n")
        staged.append((tmp_suite, json_path))
        check_columns(load_suite(Path(tmp_suite)), json_path, cfg)
        for tmp, dst in staged:
            os.replace(tmp, dst)
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return yaml_path, json_path


def _stage(dst: Path, text: str) -> str:
    """``text`` in a temporary file beside ``dst``, flushed to disk. Not ``Lake.write_text``: its
    temporary name keeps the ``.yaml`` suffix, which the DAG factory's ``*.yaml`` glob would read,
    and here both files are checked before either is renamed."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return tmp
