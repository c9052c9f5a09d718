"""The scaffold's decisions: the task (from the target), the features, the columns left out and
why, a first gate, and what a person must review. Nothing is written here."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

from airflow_mlops.core.data.scaffold.profile import MAX_CATEGORIES, ColumnProfile, profile, read_sample
from airflow_mlops.core.foundation.config import PIPELINE_NAME, RawFormat, TaskType, format_of
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError

#: A string column is free text, not a category, when it has more than MAX_CATEGORIES values, or
#: when they exceed this share of its values (in samples of at least MIN_ROWS_FOR_SHARES rows: in
#: fewer, every share is noise).
MAX_CATEGORY_SHARE: Final = 0.5
MIN_ROWS_FOR_SHARES: Final = 20
#: An int target with at most this many distinct values is a class label, not a quantity.
MAX_INT_CLASSES: Final = 10
#: Gate floors of a first model: clearly better than guessing, far from a goal.
ROC_AUC_FLOOR: Final = 0.6
BALANCED_ACCURACY_OVER_CHANCE: Final = 0.1
R2_FLOOR: Final = 0.1
_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid)($|[_\W])|^(rownames|row_?number|index|unnamed: ?0)$", re.I)
_ID_CAMEL = re.compile(r"[a-z0-9](Id|ID|Uuid|UUID)$")


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
        metrics = ["roc_auc", "balanced_accuracy", "accuracy", "log_loss"]
        return "roc_auc", ROC_AUC_FLOOR, metrics, "ranks better than chance, which is 0.5"
    floor = round(1 / classes + BALANCED_ACCURACY_OVER_CHANCE, 3)
    why = f"0.1 above chance (1/{classes}) for {classes} classes"
    return "balanced_accuracy", floor, ["balanced_accuracy", "accuracy", "f1"], why


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
        columns[target] = dataclasses.replace(t, kind="category")
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
                columns[col] = dataclasses.replace(p, kind="category")
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
