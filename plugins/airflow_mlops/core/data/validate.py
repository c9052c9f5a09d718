"""Validate: run a pipeline's Great Expectations suite (:mod:`.suite`) on one interval's committed
snapshot. The full GX result, the data docs and a small summary (written last: the commit point)
live in the interval's partition. A batch counts as validated only while its summary succeeded
*and* names the snapshot committed now, so re-ingesting an interval makes its verdict stale.
GX takes seconds to import: only the functions that run it import it.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.data import gx_chunks
from airflow_mlops.core.data.suite import (
    build_gx_suite,
    builtin_expectations,
    load_suite,
    scale_bounds,
    suite_path,
)
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.result import Result

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)

VALIDATED = "validated"
QUARANTINED = "quarantined"
FAILED = "failed"

#: A larger snapshot is validated this many rows at a time (about 1 GB of pandas for flights).
CHUNK_ROWS = 1_000_000
_MAX_ITEMS = 8
_MAX_TEXT = 200


@dataclass(frozen=True)
class ValidationResult(Result):
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

    def failure_message(self) -> str:
        """What a person reads in the task log: which expectation failed on which column, and why."""
        if not self.failed:
            return f"{self.pipeline} {self.ds}: all {self.evaluated} expectations passed"
        lines = [f"{self.pipeline} {self.ds}: {len(self.failed)} of {self.evaluated} expectations failed:"]
        lines += [f"  - {describe_failure(f)}" for f in self.failed]
        if self.docs_uri:
            lines.append(f"Data docs: {self.docs_uri}")
        return "\n".join(lines)


def _context(docs_dir: str) -> Any:
    """An in-memory GX context whose only data docs site is a local directory; no analytics, no bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from airflow_mlops.core.data.gx_views import site_views

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            "lake": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
                **site_views(),  # GX's views, templates compiled once per machine
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
    frames: Iterator[pd.DataFrame],
    gx_suite: Any,
    cfg: PipelineConfig,
    ds: str,
    docs_dir: str,
    compound: list[tuple[str, ...]] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Run the suite on each frame (the whole snapshot, or its chunks); returns the JSON result
    (chunks merged: :mod:`.gx_chunks`) and whether data docs were built into ``docs_dir``.
    ``compound``: column lists whose repeats are counted across chunks (None: one frame)."""
    import great_expectations as gx
    import pandas as pd
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
    run_id = RunIdentifier(run_name=f"ds={ds}", run_time=datetime.now(UTC))  # one key for all chunks
    parts, sizes = [], []
    hashes: dict[tuple[str, ...], list[Any]] = {cols: [] for cols in compound or []}
    for df in frames:
        parts.append(vd.run(batch_parameters={"dataframe": df}, result_format="SUMMARY", run_id=run_id))
        sizes.append(len(df))
        for cols, found in hashes.items():
            found.append(pd.util.hash_pandas_object(df[list(cols)], index=False).to_numpy())
        del df  # freed before the next chunk is read: one chunk in memory, not two
    result = parts[0]
    if len(parts) > 1:
        result = gx_chunks.merge(parts, sizes, {c: gx_chunks.duplicated_rows(h) for c, h in hashes.items()})
        store = ctx.validation_results_store
        *older, last = store.list_keys()
        for key in older:
            store.remove_key(key)
        store.set(last, result)  # the data docs show the merged result
    payload: dict[str, Any] = _json_safe(result.to_json_dict())
    if len(parts) > 1:
        payload["meta"]["chunks"] = sizes
    try:
        ctx.build_data_docs(site_names=["lake"])
        _prune_docs(docs_dir)
        built = os.path.exists(os.path.join(docs_dir, "index.html"))
    except Exception:  # data docs are a convenience; the verdict must not depend on rendering HTML
        log.warning("%s %s: GX data docs could not be built", cfg.name, ds, exc_info=True)
        built = False
    return payload, built


def _frames(cfg: PipelineConfig, lake: Lake, uri: str, suite: list[dict[str, Any]]) -> tuple[
    Iterator[pd.DataFrame], list[tuple[str, ...]] | None
]:  # fmt: skip
    """The snapshot whole, or in chunks of CHUNK_ROWS when it is larger and the suite allows it."""
    with lake.open_parquet(uri) as pf:
        rows = pf.metadata.num_rows
        if rows <= CHUNK_ROWS or not gx_chunks.splittable(suite):
            if rows > CHUNK_ROWS:
                log.info(
                    "%s: an expectation of the suite needs every row at once; validating whole", cfg.name
                )
            return iter([_gx_frame(pf.read())]), None

    def chunks() -> Iterator[pd.DataFrame]:
        with lake.open_parquet(uri) as pf:
            for batch in pf.iter_batches(batch_size=CHUNK_ROWS):
                yield _gx_frame(batch)

    return chunks(), gx_chunks.compound_columns(suite)


def _gx_frame(data: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    """Snapshot rows in the pandas types GX checks fastest, with the same verdicts and observed types:
    strings in Arrow's buffers (a null is a bit, not an object tested per cell) and integers without
    a null as NumPy int64 (GX vectorizes those, but calls Python per value of nullable Int64; an
    integer column with a null keeps that type: a float would show 7.0 for 7)."""
    import pandas as pd
    import pyarrow as pa

    arrow_strings = pd.StringDtype("pyarrow")
    df = data.to_pandas(types_mapper={pa.string(): arrow_strings, pa.large_string(): arrow_strings}.get)
    for c in df.columns:
        dtype = df[c].dtype
        if isinstance(dtype, pd.core.arrays.integer.IntegerDtype) and not df[c].hasnans:
            df[c] = df[c].to_numpy(dtype=dtype.numpy_dtype)
    return df


def validate_snapshot(
    cfg: PipelineConfig, lake: Lake, ds: str, suite_file: Path | None = None
) -> ValidationResult:
    """Validate the committed snapshot of interval ``ds``; failing expectations do not raise (the
    operator records the verdict, then raises). Bad suites raise ConfigError; GX's own errors
    propagate. ``suite_file`` defaults to the pipeline's ``validation.suite``."""
    suite_file = Path(suite_file or suite_path(cfg))
    suite = load_suite(suite_file)
    cat = Catalog(lake, cfg.name)
    m = cat.committed_manifest(ds)
    # The file this manifest names: the hash recorded is that of the rows validated, even if the
    # interval is re-ingested meanwhile.
    snapshot_uri = cat.snapshot_uri(ds, m)
    scaled = scale_bounds(suite, _interval_seconds(m))
    gx_suite = build_gx_suite(scaled, suite_file, cfg)
    frames, compound = _frames(
        cfg, lake, snapshot_uri, [*scaled["expectations"], *builtin_expectations(cfg, scaled)]
    )

    with tempfile.TemporaryDirectory(prefix="gx-docs-") as docs_dir:
        payload, built = _run_suite(frames, gx_suite, cfg, ds, docs_dir, compound)
        result_uri = lake.write_json(cat.validation_result_uri(ds), payload)
        lake.remove(cat.validation_docs_dir(ds))
        docs_uri = None
        if built:
            lake.copy_dir_from_local(docs_dir, cat.validation_docs_dir(ds))
            docs_uri = f"{cat.validation_docs_dir(ds)}/index.html"

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
        summary_uri=cat.validation_summary_uri(ds),
    )
    now = datetime.now(UTC).isoformat()
    summary = {**result.to_dict(), "suite": suite["name"], "suite_path": str(suite_file), "validated_at": now}
    lake.write_json(result.summary_uri, summary)  # last: the summary is the commit point
    return result


def _interval_seconds(manifest: dict[str, Any]) -> float | None:
    """Length of the data interval the snapshot was ingested for (None before it was recorded)."""
    interval = manifest.get("interval")
    if not interval:
        return None
    start, end = (datetime.fromisoformat(t) for t in interval)
    return (end - start).total_seconds()


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


def describe_failure(f: dict[str, Any]) -> str:
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
    if type(v).__module__ == "numpy" and getattr(v, "ndim", None) == 0:
        v = v.item()  # a NumPy scalar as the Python number it holds
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_safe(x) for x in v]
    if v is None or isinstance(v, str | int | bool):
        return v
    return str(v)
