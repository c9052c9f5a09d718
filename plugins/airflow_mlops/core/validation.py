"""Validate: run a pipeline's Great Expectations suite on one interval's committed snapshot.

The suite is a plain GX 1.x ``ExpectationSuite`` JSON file, so that it can be reviewed in a pull
request and edited without code. Everything about one validation lives in the interval's partition,
under ``validation/``: the full GX result (``result.json``), the GX data docs (``docs/``) and a small
``summary.json``, written last, which is the commit point. A batch counts as validated only while its
summary succeeded *and* names the snapshot that is committed now, so re-ingesting an interval makes
its old verdict stale instead of silently reusing it.

Great Expectations takes seconds to import, so it is imported only inside the functions that run it;
:func:`load_suite` does not import it and is cheap enough for DAG parsing.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import logging
import math
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.config import PipelineConfig
from airflow_mlops.core.errors import ConfigError, DataNotFoundError
from airflow_mlops.core.lake import Lake
from airflow_mlops.core.snapshot import manifest, read_parquet

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

VALIDATED = "validated"
QUARANTINED = "quarantined"
FAILED = "failed"

RESULT_FILE = "result.json"
SUMMARY_FILE = "summary.json"
DOCS_DIR = "docs"

#: Keys ``gx.ExpectationSuite(**suite)`` and ``ExpectationConfiguration(**expectation)`` accept;
#: anything else is a typo that GX would reject with a bare TypeError.
_SUITE_KEYS = {"name", "expectations", "suite_parameters", "meta", "notes", "id"}
_EXPECTATION_KEYS = {
    "type",
    "kwargs",
    "meta",
    "notes",
    "description",
    "severity",
    "id",
    "rendered_content",
    "success_on_last_run",
    "expectation_context",
}
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_MAX_ITEMS = 8
_MAX_TEXT = 200


@dataclass(frozen=True)
class ValidationResult:
    """The verdict on one snapshot; small enough for XCom and Asset event metadata."""

    pipeline: str
    ds: str
    snapshot_uri: str
    snapshot_hash: str
    success: bool
    status: str
    evaluated: int
    failed: list[dict[str, Any]]
    result_uri: str
    docs_uri: str | None
    summary_uri: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def failure_message(self) -> str:
        """What a person reads in the task log: which expectation failed on which column, and why."""
        if not self.failed:
            return f"{self.pipeline} {self.ds}: all {self.evaluated} expectations passed"
        lines = [f"{self.pipeline} {self.ds}: {len(self.failed)} of {self.evaluated} expectations failed:"]
        lines += [f"  - {_describe(f)}" for f in self.failed]
        if self.docs_uri:
            lines.append(f"Data docs: {self.docs_uri}")
        return "\n".join(lines)


# --- the suite file -------------------------------------------------------------------------------
def load_suite(path: Path) -> dict[str, Any]:
    """Read and check a suite JSON file without importing GX (safe at DAG parse time).

    GX itself logs and *drops* an expectation of unknown type when a suite is built from a dict, so
    a typo would silently weaken the data contract: here it is an error naming the file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: expectation suite cannot be read: {e.strerror or e}") from e
    try:
        suite = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON: line {e.lineno} column {e.colno}: {e.msg}") from e
    if not isinstance(suite, dict):
        raise ConfigError(f"{path}: expected a JSON object (an ExpectationSuite) at the top level")
    unknown = sorted(set(suite) - _SUITE_KEYS)
    if unknown:
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
        extra = sorted(set(exp) - _EXPECTATION_KEYS)
        if extra:
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
    return suite


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
    if "great_expectations.expectations.registry" in sys.modules:
        from great_expectations.expectations.registry import list_registered_expectation_implementations

        registered = set(list_registered_expectation_implementations())
        if registered:
            return registered | _installed_core_types()
    return set(_installed_core_types())


def default_suite_path(cfg: PipelineConfig) -> Path:
    """Where the suite named by ``validation.suite`` lives (``AIRFLOW_MLOPS_EXPECTATIONS_DIR``)."""
    from airflow_mlops.core.settings import get_settings

    return get_settings().expectations_dir / cfg.validation.suite


def _suite_columns(suite: dict[str, Any]) -> list[tuple[int, str, str]]:
    out = []
    for i, exp in enumerate(suite["expectations"]):
        kwargs = exp["kwargs"]
        cols = [kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
        cols += [c for c in kwargs.get("column_list") or [] if isinstance(c, str)]
        out += [(i, exp["type"], c) for c in cols]
    return out


def _build_gx_suite(suite: dict[str, Any], path: Path, cfg: PipelineConfig) -> Any:
    """A GX suite whose every expectation was accepted, or a ConfigError naming the bad one."""
    import great_expectations as gx
    from great_expectations.exceptions.exceptions import GreatExpectationsError
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    for i, etype, col in _suite_columns(suite):
        if col not in cfg.data_schema.columns:
            raise ConfigError(
                f"{path}: expectations[{i}] ({etype}): column {col!r} is not a column of pipeline "
                f"{cfg.name}; its columns are {list(cfg.data_schema.columns)}"
            )
    expectations = []
    for i, exp in enumerate(suite["expectations"]):
        try:
            expectations.append(ExpectationConfiguration(**exp).to_domain_obj())
        except (GreatExpectationsError, ValueError, TypeError) as e:
            msg = " ".join(str(getattr(e, "message", e)).split())
            raise ConfigError(f"{path}: expectations[{i}] ({exp['type']}): invalid: {msg}") from e
    fields = {k: v for k, v in suite.items() if k != "expectations"}
    return gx.ExpectationSuite(**fields, expectations=expectations)


# --- running it -----------------------------------------------------------------------------------
def _context(docs_dir: str) -> Any:
    """An in-memory GX context whose only data docs site is a local directory; no analytics, no bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            "lake": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _prune_docs(docs_dir: str) -> None:
    """Drop GX's bundled tutorial images (3.4 MB of 4 MB per site) that the pages never reference."""
    images = os.path.join(docs_dir, "static", "images")
    if os.path.isdir(images):
        for name in os.listdir(images):
            if name != "favicon.ico":
                os.unlink(os.path.join(images, name))


def _run_suite(
    df: pd.DataFrame, gx_suite: Any, cfg: PipelineConfig, ds: str, docs_dir: str
) -> tuple[dict[str, Any], bool]:
    """Run the suite; returns the JSON result and whether data docs were built into ``docs_dir``."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    ctx = _context(docs_dir)
    batch = (
        ctx.data_sources.add_pandas(cfg.name)
        .add_dataframe_asset("snapshot")
        .add_batch_definition_whole_dataframe("whole_snapshot")
    )
    suite = ctx.suites.add(gx_suite)
    vd = ctx.validation_definitions.add(
        gx.ValidationDefinition(name=f"{cfg.name}-{ds}", data=batch, suite=suite)
    )
    result = vd.run(
        batch_parameters={"dataframe": df},
        result_format="SUMMARY",
        run_id=RunIdentifier(run_name=f"ds={ds}"),
    )
    payload: dict[str, Any] = _json_safe(result.to_json_dict())
    try:
        ctx.build_data_docs(site_names=["lake"])
        _prune_docs(docs_dir)
        built = os.path.exists(os.path.join(docs_dir, "index.html"))
    except Exception:  # data docs are a convenience; the verdict must not depend on rendering HTML
        log.warning("%s %s: GX data docs could not be built", cfg.name, ds, exc_info=True)
        built = False
    return payload, built


def validate_snapshot(cfg: PipelineConfig, lake: Lake, ds: str, suite_path: Path) -> ValidationResult:
    """Validate the committed snapshot of interval ``ds``; failing expectations do not raise.

    The caller decides what a failure does (the operator pushes the result, then raises), so that
    the verdict and its details are recorded either way. Bad suites raise ConfigError; errors of GX
    itself propagate.
    """
    suite = load_suite(suite_path)
    m = manifest(lake, cfg.name, ds)
    if m is None:
        raise DataNotFoundError(
            f"{lake.partition(cfg.name, ds)}: interval {ds} of {cfg.name} was never ingested"
        )
    part = lake.partition(cfg.name, ds)
    snapshot_uri = f"{part}/{m['data']}"
    # The file this manifest names, not "the current snapshot": the hash recorded is then the hash
    # of the rows validated, even if the interval is re-ingested meanwhile.
    df = read_parquet(lake, snapshot_uri)
    gx_suite = _build_gx_suite(suite, Path(suite_path), cfg)

    base = f"{part}/validation"
    with tempfile.TemporaryDirectory(prefix="gx-docs-") as docs_dir:
        payload, built = _run_suite(df, gx_suite, cfg, ds, docs_dir)
        result_uri = lake.write_json(f"{base}/{RESULT_FILE}", payload)
        lake.remove(f"{base}/{DOCS_DIR}")
        docs_uri = None
        if built:
            lake.copy_dir_from_local(docs_dir, f"{base}/{DOCS_DIR}")
            docs_uri = f"{base}/{DOCS_DIR}/index.html"

    success = bool(payload["success"])
    status = VALIDATED if success else QUARANTINED if cfg.validation.on_failure == "quarantine" else FAILED
    result = ValidationResult(
        pipeline=cfg.name,
        ds=ds,
        snapshot_uri=snapshot_uri,
        snapshot_hash=m["content_hash"],
        success=success,
        status=status,
        evaluated=int(payload["statistics"]["evaluated_expectations"]),
        failed=[_failure(r) for r in payload["results"] if not r["success"]],
        result_uri=result_uri,
        docs_uri=docs_uri,
        summary_uri=f"{base}/{SUMMARY_FILE}",
    )
    summary = {
        **result.to_dict(),
        "suite": suite["name"],
        "suite_path": str(suite_path),
        "validated_at": datetime.now(UTC).isoformat(),
    }
    lake.write_json(result.summary_uri, summary)  # last: the summary is the commit point
    return result


# --- reading verdicts -----------------------------------------------------------------------------
def validation_summary(lake: Lake, pipeline: str, ds: str) -> dict[str, Any] | None:
    """The latest summary.json of an interval, or None if it was never validated."""
    summary: dict[str, Any] | None = lake.read_json_or_none(
        f"{lake.partition(pipeline, ds)}/validation/{SUMMARY_FILE}"
    )
    return summary


def is_validated(lake: Lake, pipeline: str, ds: str) -> bool:
    """Whether the latest validation of interval ``ds`` passed for the snapshot committed now."""
    m = manifest(lake, pipeline, ds)
    s = validation_summary(lake, pipeline, ds)
    return bool(m and s and s.get("success") and s.get("snapshot_hash") == m.get("content_hash"))


def validated_batches(lake: Lake, pipeline: str) -> list[str]:
    """Intervals (oldest first) whose latest validation passed for the snapshot committed now."""
    return [ds for ds in lake.batches(pipeline) if is_validated(lake, pipeline, ds)]


# --- turning GX results into short, readable failures ---------------------------------------------
def _failure(r: dict[str, Any]) -> dict[str, Any]:
    config = r.get("expectation_config") or {}
    kwargs = {k: v for k, v in (config.get("kwargs") or {}).items() if k != "batch_id"}
    return {
        "expectation": config.get("type"),
        "column": kwargs.get("column"),
        "kwargs": {k: _short(v) for k, v in kwargs.items() if k != "column"},
        "observed": _observed(r.get("result") or {}, r.get("exception_info") or {}),
    }


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX reports exceptions either flat or keyed by metric; the first message is enough."""
    if "raised_exception" in info:
        return str(info.get("exception_message")) if info.get("raised_exception") else None
    for sub in info.values():
        if isinstance(sub, dict) and sub.get("raised_exception"):
            return str(sub.get("exception_message"))
    return None


def _observed(res: dict[str, Any], exc: dict[str, Any]) -> Any:
    error = _exception_message(exc)
    if error:
        return {"error": _short(error)}
    details = res.get("details") or {}
    if isinstance(details, dict) and details.get("mismatched"):
        return {"mismatched": _short(details["mismatched"])}
    if "unexpected_count" in res:
        counts = res.get("partial_unexpected_counts")
        examples = (
            [c.get("value") for c in counts]
            if isinstance(counts, list)
            else res.get("partial_unexpected_list")
        )
        return {
            "unexpected_count": res["unexpected_count"],
            "element_count": res.get("element_count"),
            "unexpected_percent": round(float(res.get("unexpected_percent") or 0.0), 3),
            "examples": _short(list(examples or [])[:5]),
        }
    if "observed_value" in res:
        return _short(res["observed_value"])
    return None


def _describe(f: dict[str, Any]) -> str:
    """One line: expectation, column, what was expected and what was seen."""
    head = str(f.get("expectation"))
    if f.get("column"):
        head += f" on column {f['column']!r}"
    expected = ", ".join(f"{k}={v!r}" for k, v in (f.get("kwargs") or {}).items())
    if expected:
        head += f" (expected {expected})"
    obs = f.get("observed")
    if isinstance(obs, dict) and "unexpected_count" in obs:
        seen = f"{obs['unexpected_count']} of {obs.get('element_count')} values unexpected ({obs['unexpected_percent']}%)"
        if obs.get("examples"):
            seen += ", e.g. " + ", ".join(repr(v) for v in obs["examples"])
    elif isinstance(obs, dict) and "error" in obs:
        seen = f"could not be evaluated: {obs['error']}"
    elif isinstance(obs, dict) and "mismatched" in obs:
        seen = f"mismatched {obs['mismatched']}"
    elif obs is None:
        seen = "failed"
    else:
        seen = f"observed {obs!r}"
    return f"{head}: {seen}"


def _short(v: Any) -> Any:
    """Keep XCom-sized: long lists cut to a few items, long strings cut."""
    if isinstance(v, list | tuple):
        items = [_short(x) for x in v[:_MAX_ITEMS]]
        return [*items, f"... {len(v) - _MAX_ITEMS} more"] if len(v) > _MAX_ITEMS else items
    if isinstance(v, dict):
        return {str(k): _short(x) for k, x in list(v.items())[:_MAX_ITEMS]}
    if isinstance(v, str) and len(v) > _MAX_TEXT:
        return v[:_MAX_TEXT] + "..."
    return _json_safe(v)


def _json_safe(v: Any) -> Any:
    """Strict JSON (NaN and infinities become null) so that any reader, not only Python, can parse it."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_safe(x) for x in v]
    if v is None or isinstance(v, str | int | bool):
        return v
    return str(v)
