"""Expectation suites: plain GX 1.x ``ExpectationSuite`` JSON files in include/expectations/, to
review in a pull request. :func:`load_suite` checks one without importing Great Expectations
(seconds to import), so ``airflow-mlops check`` and DAG parsing stay cheap; :func:`build_gx_suite`
makes the GX objects when a task validates.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import math
import sys
from functools import cache
from pathlib import Path
from typing import Any

from airflow_mlops.core.foundation.config import PipelineConfig, read_text
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.foundation.settings import get_settings

#: Keys ``gx.ExpectationSuite(**suite)`` and ``ExpectationConfiguration(**expectation)`` accept;
#: anything else is a typo that GX would reject with a bare TypeError.
_SUITE_KEYS = {"name", "expectations", "suite_parameters", "meta", "notes", "id"}
_EXPECTATION_KEYS = {
    "type", "kwargs", "meta", "notes", "description", "severity", "id", "rendered_content",
    "success_on_last_run", "expectation_context",
}  # fmt: skip
_COLUMN_KWARGS = ("column", "column_A", "column_B")

ROW_COUNT = "expect_table_row_count_to_be_between"
NON_NULL_SHARE = "expect_column_proportion_of_non_null_values_to_be_between"
COMPOUND_UNIQUE = "expect_compound_columns_to_be_unique"


def load_suite(path: Path) -> dict[str, Any]:
    """Read and check a suite JSON file without importing GX. GX logs and *drops* an expectation of
    unknown type, so a typo would silently weaken the data contract: here it names the file."""
    path = Path(path)
    text = read_text(path, "expectation suite ")
    try:
        suite = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON: line {e.lineno} column {e.colno}: {e.msg}") from e
    if not isinstance(suite, dict):
        raise ConfigError(f"{path}: expected a JSON object (an ExpectationSuite) at the top level")
    if unknown := sorted(set(suite) - _SUITE_KEYS):
        raise ConfigError(
            f"{path}: unknown field(s) {unknown}; an ExpectationSuite has {sorted(_SUITE_KEYS)}"
        )
    if not isinstance(suite.get("name"), str) or not suite["name"].strip():
        raise ConfigError(f"{path}: name: a non-empty string is required")
    expectations = suite.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise ConfigError(f"{path}: expectations: a non-empty list is required")
    known = _known_expectation_types()
    for i, exp in enumerate(expectations):
        where = f"{path}: expectations[{i}]"
        if not isinstance(exp, dict):
            raise ConfigError(f"{where}: expected an object with 'type' and 'kwargs'")
        if extra := sorted(set(exp) - _EXPECTATION_KEYS):
            raise ConfigError(f"{where}: unknown field(s) {extra}")
        etype = exp.get("type")
        if not isinstance(etype, str) or not etype:
            raise ConfigError(f"{where}: type: the expectation type is required, e.g. expect_column_to_exist")
        if known and etype not in known:
            close = difflib.get_close_matches(etype, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown expectation type {etype!r}{hint}")
        if not isinstance(exp.get("kwargs"), dict):
            raise ConfigError(f"{where} ({etype}): kwargs: an object is required")
        per = (exp.get("meta") or {}).get("bounds_per") if isinstance(exp.get("meta"), dict) else None
        if per is not None and (etype != ROW_COUNT or per not in BOUNDS_PER):
            raise ConfigError(
                f"{where} ({etype}): meta.bounds_per {per!r}: only {ROW_COUNT} takes it, "
                f"with one of {sorted(BOUNDS_PER)}"
            )
    return suite


#: ``meta.bounds_per`` of a row-count expectation: its bounds count rows per hour or per day of
#: the batch's data interval, so one suite holds for a day's batch and for a year's backfill.
BOUNDS_PER = {"hour": 3600, "day": 86400}


def scale_bounds(suite: dict[str, Any], interval_seconds: float | None) -> dict[str, Any]:
    """The suite with each ``bounds_per`` row count multiplied by the interval's length in its unit
    (the lower bound rounded down, the upper up; as written when the interval is unknown)."""
    if not interval_seconds:
        return suite
    expectations = []
    for exp in suite["expectations"]:
        per = (exp.get("meta") or {}).get("bounds_per")
        if per in BOUNDS_PER:
            units = interval_seconds / BOUNDS_PER[per]
            kwargs = dict(exp["kwargs"])
            for key, rounding in (("min_value", math.floor), ("max_value", math.ceil)):
                if isinstance(kwargs.get(key), int | float):
                    kwargs[key] = int(rounding(kwargs[key] * units))
            meta = {**exp["meta"], "bounds_scaled_by": round(units, 6)}
            exp = {**exp, "kwargs": kwargs, "meta": meta}
        expectations.append(exp)
    return {**suite, "expectations": expectations}


@cache
def _installed_core_types() -> frozenset[str]:
    """Core expectation types, from the installed GX package's files (one module per type)."""
    spec = importlib.util.find_spec("great_expectations")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    core = Path(next(iter(spec.submodule_search_locations))) / "expectations" / "core"
    return frozenset(p.stem for p in core.glob("expect_*.py"))


def _known_expectation_types() -> set[str]:
    """GX's registry when GX is already imported (includes custom types), else the installed core ones."""
    registered: set[str] = set()
    if "great_expectations.expectations.registry" in sys.modules:
        from great_expectations.expectations.registry import list_registered_expectation_implementations

        registered = set(list_registered_expectation_implementations())
    return registered | _installed_core_types()


def suite_path(cfg: PipelineConfig) -> Path:
    """Where the suite named by ``validation.suite`` lives (``AIRFLOW_MLOPS_EXPECTATIONS_DIR``)."""
    return get_settings().expectations_dir / cfg.validation.suite


def _suite_columns(suite: dict[str, Any]) -> list[tuple[int, str, str]]:
    out = []
    for i, exp in enumerate(suite["expectations"]):
        kwargs = exp["kwargs"]
        cols = [kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
        cols += [c for c in kwargs.get("column_list") or [] if isinstance(c, str)]
        out += [(i, exp["type"], c) for c in cols]
    return out


def check_columns(suite: dict[str, Any], path: Path, cfg: PipelineConfig) -> None:
    """Refuse an expectation on a column the pipeline does not declare (a typo, or a suite written
    for another pipeline): without this it would fail every batch at validation, not at check."""
    for i, etype, col in _suite_columns(suite):
        if col not in cfg.data_schema.columns:
            raise ConfigError(
                f"{path}: expectations[{i}] ({etype}): column {col!r} is not a column of pipeline "
                f"{cfg.name}; its columns are {list(cfg.data_schema.columns)}"
            )


def build_gx_suite(suite: dict[str, Any], path: Path, cfg: PipelineConfig) -> Any:
    """A GX suite whose every expectation was accepted, or a ConfigError naming the bad one."""
    import great_expectations as gx
    from great_expectations.exceptions.exceptions import GreatExpectationsError
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    check_columns(suite, path, cfg)
    expectations = []
    for i, exp in enumerate([*suite["expectations"], *builtin_expectations(cfg, suite)]):
        try:
            expectations.append(ExpectationConfiguration(**exp).to_domain_obj())
        except (GreatExpectationsError, ValueError, TypeError) as e:
            msg = " ".join(str(getattr(e, "message", e)).split())
            raise ConfigError(f"{path}: expectations[{i}] ({exp['type']}): invalid: {msg}") from e
    fields = {k: v for k, v in suite.items() if k != "expectations"}
    return gx.ExpectationSuite(**fields, expectations=expectations)


BUILTIN = "added by airflow-mlops"


def builtin_expectations(cfg: PipelineConfig, suite: dict[str, Any]) -> list[dict[str, Any]]:
    """What every batch must meet whatever its suite says, as GX expectations (shown in the result
    and the data docs): no feature column empty, no more repeated rows than
    ``validation.max_duplicate_share``. A suite stating one of them keeps its own."""
    stated = {(e["type"], e["kwargs"].get("column")) for e in suite["expectations"]}
    out = [
        {
            "type": NON_NULL_SHARE,
            "kwargs": {"column": c, "min_value": 0.0, "strict_min": True},
            "meta": {"notes": f"{BUILTIN}: a feature must not be empty"},
        }
        for c in cfg.features.all
        if (NON_NULL_SHARE, c) not in stated
    ]
    if (COMPOUND_UNIQUE, None) not in stated:
        mostly = 1.0 - cfg.validation.max_duplicate_share
        kwargs = {"column_list": list(cfg.data_schema.columns), "mostly": mostly, "ignore_row_if": "never"}
        notes = f"{BUILTIN}: rows must not repeat (validation.max_duplicate_share)"
        out.append({"type": COMPOUND_UNIQUE, "kwargs": kwargs, "meta": {"notes": notes}})
    return out
