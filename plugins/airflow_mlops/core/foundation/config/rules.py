"""Rules across the sections of a pipeline config: what Airflow or training would refuse later.

Each problem starts with the field at fault (``gate.minimum: …``); all are raised as one
``ValueError``, so a config is refused at parse time, before any data is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from airflow_mlops.core.foundation.config import estimators
from airflow_mlops.core.foundation.config.metrics import METRICS, difference_problem, value_problem

if TYPE_CHECKING:
    from airflow_mlops.core.foundation.config import PipelineConfig

#: Airflow's cron presets (airflow.utils.dates.cron_presets), as its cron timetables read them.
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}
#: Airflow refuses a DAG tag longer than this (airflow.sdk.definitions.dag.TAG_MAX_LEN).
TAG_MAX_LEN = 100
#: Column types a numeric feature may have: features_frame reads them as float64.
NUMERIC_TYPES = ("int", "float", "bool")
#: Column types a classification target may have: a float or a time would make every value a class.
CLASS_TYPES = ("bool", "int", "string", "category")


def cron_problem(expr: str) -> str | None:
    """Why Airflow's cron timetables would refuse ``expr`` (or never run it), or None."""
    from croniter import croniter

    # Exactly as Airflow's CronMixin reads it: its presets, then croniter on the text as written.
    cron = CRON_PRESETS.get(expr, expr)
    presets = ", ".join(CRON_PRESETS)
    if cron.strip().startswith("@"):
        try:
            croniter(cron)  # croniter's own @midnight, @annually pass in Airflow too
        except (ValueError, KeyError, TypeError):
            return f"{expr!r} is not a preset Airflow knows ({presets}; no spaces around it)"
        return None
    fields = cron.split()
    if len(fields) != 5:
        return (
            f"{expr!r} has {len(fields)} field(s); a cron expression has 5 "
            f"(minute hour day-of-month month day-of-week), or use a preset ({presets})"
        )
    try:
        it = croniter(cron)
    except (ValueError, KeyError, TypeError) as e:  # croniter's errors derive from ValueError
        return f"{expr!r} is not a valid cron expression: {e}"
    try:
        it.get_next()
    except (ValueError, KeyError, TypeError):
        return f"{expr!r} never fires (no such date)"
    return None


def check(cfg: PipelineConfig) -> None:
    """Every cross-section rule, in the order a person reads the file; all problems at once, one
    line each."""
    problems = [
        *_features(cfg),
        *_metrics(cfg),
        *_estimators(cfg),
        *_columns_named(cfg),
        *(
            f"tags[{i}]: longer than {TAG_MAX_LEN} characters (Airflow refuses it)"
            for i, tag in enumerate(cfg.tags)
            if len(tag) > TAG_MAX_LEN
        ),
    ]
    target = cfg.data_schema.target
    kind = cfg.data_schema.columns[target]
    if cfg.data_schema.task == "classification" and kind not in CLASS_TYPES:
        problems.append(
            f"schema.target: a classification target must be {', '.join(CLASS_TYPES)}, not {kind} "
            "(each distinct value would be a class): derive a label, or set schema.task: regression"
        )
    s = cfg.schedules
    if s.end_date is not None and s.end_date < s.start_date:
        problems.append(f"schedules.end_date: {s.end_date} is before schedules.start_date {s.start_date}")
    if problems:
        raise ValueError("\n".join(problems))


def _features(cfg: PipelineConfig) -> Iterator[str]:
    cols = cfg.data_schema.columns
    feats = cfg.features.all
    if not feats:
        yield "features: at least one numeric or categorical feature is needed"
    for i, f in enumerate(feats):
        kind = "numeric" if i < len(cfg.features.numeric) else "categorical"
        if f not in cols:
            yield f"features.{kind}: {f!r} is not a column of schema.columns"
        elif f == cfg.data_schema.target:
            yield f"features.{kind}: the target {f!r} cannot be a feature"
        elif kind == "numeric" and cols[f] not in NUMERIC_TYPES:
            yield (
                f"features.numeric: {f!r} is a {cols[f]} column; a numeric feature must be "
                f"{', '.join(NUMERIC_TYPES)} (list it under features.categorical, or derive a number)"
            )
    dupes = {f for f in feats if feats.count(f) > 1}
    if dupes:
        yield f"features: {sorted(dupes)} listed twice"


def _metrics(cfg: PipelineConfig) -> Iterator[str]:
    task = cfg.data_schema.task
    known = ", ".join(m for m, (t, _) in METRICS.items() if t == task)
    bad = False
    for where, names in (("metrics", cfg.metrics), ("gate.metric", [cfg.gate.metric])):
        for m in names:
            if m not in METRICS:
                bad = True
                yield f"{where}: unknown metric {m!r}; known for {task}: {known}"
            elif METRICS[m][0] != task:
                bad = True
                yield f"{where}: {m!r} is a {METRICS[m][0]} metric but schema.task is {task}"
    if bad:
        return
    if cfg.gate.metric not in cfg.metrics:
        yield f"gate.metric: {cfg.gate.metric!r} must also be listed in metrics"
    yield from _gate_values(cfg)


def _gate_values(cfg: PipelineConfig) -> Iterator[str]:
    """Bounds no score of the gate metric can meet, or differences no two scores can have."""
    m, g = cfg.gate.metric, cfg.gate
    perf = cfg.monitor.triggers.performance
    checks: list[tuple[str, str | None]] = [
        ("gate.minimum", value_problem(m, g.minimum)),
        ("gate.min_improvement", difference_problem(m, g.min_improvement)),
    ]
    for field, diff in (
        ("gate.max_slice_regression", g.max_slice_regression),
        ("gate.max_slice_gap", g.max_slice_gap),
        ("monitor.triggers.performance.max_drop", perf.max_drop),
    ):
        checks.append((field, None if diff is None else difference_problem(m, diff)))
    if perf.floor is not None:
        checks.append(("monitor.triggers.performance.floor", value_problem(m, perf.floor)))
    for field, problem in checks:
        if problem:
            yield f"{field}: {problem} (gate.metric is {m})"


def _estimators(cfg: PipelineConfig) -> Iterator[str]:
    """Each estimator path against the allowed packages, before anything is imported."""
    task = cfg.data_schema.task
    if cfg.model.search is not None:
        named = [
            (f"model.search.candidates[{i}]", c.estimator, list(c.params))
            for i, c in enumerate(cfg.model.search.candidates)
        ]
    else:
        assert cfg.model.estimator is not None  # ModelConfig requires one of the two
        named = [("model", cfg.model.estimator, list(cfg.model.params))]
    for where, path, params in named:
        problem = estimators.check_path(path, task, params)
        if problem and problem.startswith("["):  # unknown parameter names
            yield f"{where}.params: {problem}"
            continue
        if problem is None and estimators.needs_import(path):
            problem = estimators.check_import(path)
        if problem:
            yield f"{where}.estimator: {problem}"


def _columns_named(cfg: PipelineConfig) -> Iterator[str]:
    """Columns other sections name must be declared, and usable for what they are named for."""
    cols = cfg.data_schema.columns
    for c in cfg.gate.slices:
        if c not in cols:
            yield f"gate.slices: {c!r} is not a column of schema.columns"
        elif c == cfg.data_schema.target:
            yield f"gate.slices: {c!r} is the target; slice by an input column"
        elif cols[c] in ("float", "datetime"):
            yield (
                f"gate.slices: {c!r} is a {cols[c]} column, which would make a slice of almost "
                "every row; slice by a category, string, bool, int or date column (derive one "
                "with schema.derive to bin it)"
            )
    for c in cfg.drift.columns or []:
        if c not in cols:
            yield f"drift.columns: {c!r} is not a column of schema.columns"
    for c in cfg.drift.per_column:
        if c not in cfg.drift_columns:
            yield f"drift.per_column: {c!r} is not one of the drift columns {cfg.drift_columns}"
    for c in cfg.monitor.labels.key:
        if c not in cols:
            yield f"monitor.labels.key: {c!r} is not a column of schema.columns"
        elif c == cfg.data_schema.target:
            yield f"monitor.labels.key: {c!r} is the target; key by an id column"
