"""Ingest: raw file -> typed, content-hashed, immutable Parquet snapshot of one data interval.

A partition (see :mod:`airflow_mlops.core.catalog`) holds one data file named by its content hash
and a ``manifest.json`` that points at it. Re-ingesting an interval writes the new file,
then the manifest (the commit point), then removes the old file: readers always see one whole
snapshot, and rows are never duplicated. The raw file is only read, never moved or changed.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from airflow_mlops.core.catalog import Catalog
from airflow_mlops.core.config import PipelineConfig
from airflow_mlops.core.errors import DataContractError, DataNotFoundError
from airflow_mlops.core.lake import Lake, filesystem
from airflow_mlops.core.result import Result

if TYPE_CHECKING:
    import fsspec
    import pandas as pd


@dataclass(frozen=True)
class SnapshotResult(Result):
    """What ingest produced; small enough for XCom and Asset event metadata."""

    pipeline: str
    ds: str
    uri: str
    manifest_uri: str
    source_uri: str
    rows: int
    rows_raw: int
    rows_filtered: int
    content_hash: str
    columns: dict[str, str]
    unchanged: bool


def read_raw(uri: str, fmt: str, fs: fsspec.AbstractFileSystem | None = None) -> pd.DataFrame:
    """Read a raw file as it is (CSV cells as strings, so that coercion sees what was written)."""
    import pandas as pd

    fs_, path = filesystem(uri, fs)
    if not fs_.exists(path):
        raise DataNotFoundError(f"{uri}: raw file not found")
    with fs_.open(path, "rb") as f:
        data = f.read()
    try:
        if fmt == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=True)
    except Exception as e:
        raise DataContractError(f"{uri}: cannot be read as {fmt}: {e}") from e


def _bad_examples(raw: pd.Series, coerced: pd.Series) -> list[str]:
    mask = raw.notna() & coerced.isna()
    return [repr(v) for v in raw[mask].unique()[:3]]


def coerce_column(s: pd.Series, kind: str, column: str, where: str) -> pd.Series:
    """Convert one column to its declared type; a value that does not convert is a contract error."""
    import pandas as pd

    if kind in ("int", "float"):
        out = pd.to_numeric(s, errors="coerce")
        bad = _bad_examples(s, out)
        if bad:
            raise DataContractError(
                f"{where}: column {column!r} ({kind}) has non-numeric values {', '.join(bad)}"
            )
        if kind == "int":
            frac = out.notna() & (out % 1 != 0)
            if frac.any():
                raise DataContractError(
                    f"{where}: column {column!r} (int) has fractional values {list(out[frac].head(3))}"
                )
            return out.astype("Int64")
        return out.astype("float64")
    if kind in ("string", "category"):
        return s.astype("string")
    if kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean")
        mapping = {
            "true": True,
            "false": False,
            "1": True,
            "0": False,
            "yes": True,
            "no": False,
            "t": True,
            "f": False,
            "1.0": True,
            "0.0": False,
        }
        out = s.astype("string").str.strip().str.lower().map(mapping)
        bad = _bad_examples(s, out)
        if bad:
            raise DataContractError(f"{where}: column {column!r} (bool) has values {', '.join(bad)}")
        return out.astype("boolean")
    if kind in ("datetime", "date"):
        out = pd.to_datetime(s, errors="coerce", utc=True)
        bad = _bad_examples(s, out)
        if bad:
            raise DataContractError(
                f"{where}: column {column!r} ({kind}) has unparseable values {', '.join(bad)}"
            )
        return out.dt.normalize() if kind == "date" else out
    raise DataContractError(f"{where}: column {column!r} has unknown type {kind!r}")  # pragma: no cover


def normalize(df: pd.DataFrame, cfg: PipelineConfig, where: str) -> tuple[pd.DataFrame, int]:
    """Keep the declared columns, typed; derive columns; apply the row filter.

    Returns the frame and the number of rows the filter dropped.
    """
    schema = cfg.data_schema
    missing = [c for c in cfg.raw_columns if c not in df.columns]
    if missing:
        raise DataContractError(f"{where}: missing column(s) {missing}; the file has {list(df.columns)}")
    out = df[cfg.raw_columns].copy()
    for col in cfg.raw_columns:
        out[col] = coerce_column(out[col], schema.columns[col], col, where)
    for col, expr in schema.derive.items():
        try:
            out[col] = out.eval(expr, engine="python")
        except Exception as e:
            raise DataContractError(f"{where}: schema.derive.{col}: {expr!r} failed: {e}") from e
        out[col] = coerce_column(out[col], schema.columns[col], col, where)
    dropped = 0
    if schema.row_filter:
        try:
            kept = out.query(schema.row_filter, engine="python")
        except Exception as e:
            raise DataContractError(f"{where}: schema.row_filter {schema.row_filter!r} failed: {e}") from e
        dropped = len(out) - len(kept)
        out = kept
    out = out[list(schema.columns)].sort_values(schema.time_column, kind="stable").reset_index(drop=True)
    return out, dropped


def content_hash(df: pd.DataFrame) -> str:
    """A hash of the values and column types, independent of Parquet writer versions."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(repr([(c, str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def ingest(
    cfg: PipelineConfig,
    lake: Lake,
    ds: str,
    *,
    source_fs: fsspec.AbstractFileSystem | None = None,
    run_id: str | None = None,
) -> SnapshotResult:
    """Snapshot the raw file of interval ``ds`` into the lake (idempotent per interval)."""
    source_uri = cfg.source.for_interval(ds)
    raw = read_raw(source_uri, cfg.source.file_format, source_fs)
    df, dropped = normalize(raw, cfg, source_uri)
    if df.empty:
        raise DataContractError(f"{source_uri}: no rows left after schema.row_filter ({len(raw)} raw rows)")
    digest = content_hash(df)
    cat = Catalog(lake, cfg.name)
    data_uri = cat.data_uri(ds, digest)
    data_name = data_uri.rsplit("/", 1)[1]
    previous = cat.manifest(ds)
    unchanged = bool(previous and previous["content_hash"] == digest and lake.exists(data_uri))
    columns = {c: str(t) for c, t in df.dtypes.items()}
    result = SnapshotResult(
        pipeline=cfg.name,
        ds=ds,
        uri=data_uri,
        manifest_uri=cat.manifest_uri(ds),
        source_uri=source_uri,
        rows=len(df),
        rows_raw=len(raw),
        rows_filtered=dropped,
        content_hash=digest,
        columns=columns,
        unchanged=unchanged,
    )
    if not unchanged:
        lake.write_parquet(data_uri, df)
        lake.write_json(
            result.manifest_uri,
            {
                "pipeline": cfg.name,
                "ds": ds,
                "data": data_name,
                "content_hash": digest,
                "rows": result.rows,
                "rows_raw": result.rows_raw,
                "rows_filtered": dropped,
                "columns": columns,
                "source_uri": source_uri,
                "config_hash": cfg.config_hash,
                "airflow_run_id": run_id,
                "ingested_at": datetime.now(UTC).isoformat(),
            },
        )
        # The manifest now points at the new file: older data files of this interval go.
        for name in lake.listdir(cat.partition(ds)):
            if name.startswith("data-") and name != data_name:
                lake.remove(f"{cat.partition(ds)}/{name}")
    return result
