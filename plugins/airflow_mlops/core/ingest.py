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


def fetch_raw(
    uri: str,
    fs: fsspec.AbstractFileSystem | None = None,
    *,
    shown: str | None = None,
    max_bytes: int | None = None,
) -> bytes:
    """The raw file's bytes. Errors name ``shown`` (the URI as it may be displayed) rather than
    ``uri``, which can hold an expanded secret; a file over ``max_bytes`` is refused unread."""
    name = shown or uri
    fs_, path = filesystem(uri, fs)
    if not fs_.exists(path):
        raise DataNotFoundError(f"{name}: raw file not found")
    size = int(fs_.size(path))
    if max_bytes is not None and size > max_bytes:
        raise DataContractError(f"{name}: {size} bytes, larger than source.max_bytes={max_bytes}")
    with fs_.open(path, "rb") as f:
        return bytes(f.read())


def parse_raw(data: bytes, fmt: str, name: str) -> pd.DataFrame:
    """A raw file as it is (CSV cells as strings, so that coercion sees what was written)."""
    import pandas as pd

    if not data.strip():
        raise DataContractError(f"{name}: the file is empty")
    try:
        if fmt == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        text = data.decode("utf-8-sig")  # a BOM is not part of the first column's name
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=True)
    except UnicodeDecodeError as e:
        raise DataContractError(
            f"{name}: not UTF-8 text (byte {e.start}: {data[e.start : e.start + 4]!r})"
        ) from e
    except Exception as e:
        raise DataContractError(f"{name}: cannot be read as {fmt}: {e}") from e


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
    interval: tuple[datetime, datetime] | None = None,
) -> SnapshotResult:
    """Snapshot the raw file of interval ``ds`` into the lake (idempotent per interval).

    A file that breaks the data contract is copied whole into the pipeline's quarantine, with the
    reason beside it, before the error is raised: the input is kept, and nothing is snapshotted.
    ``interval`` (the run's data interval) bounds the time column.
    """
    source_uri = cfg.source.for_interval(ds)
    shown = cfg.source.for_interval(ds, shown=True)
    data = b""
    try:
        data = fetch_raw(source_uri, source_fs, shown=shown, max_bytes=cfg.source.max_bytes)
        raw = parse_raw(data, cfg.source.file_format, shown)
        df, dropped = normalize(raw, cfg, shown)
        if df.empty:
            raise DataContractError(f"{shown}: no rows left after schema.row_filter ({len(raw)} raw rows)")
        if interval is not None:
            check_interval(df, cfg, interval, shown)
    except DataContractError as e:
        quarantine(Catalog(lake, cfg.name), ds, shown, data, str(e), run_id)
        raise
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
        source_uri=shown,
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
                "source_uri": shown,
                "config_hash": cfg.config_hash,
                "airflow_run_id": run_id,
                "ingested_at": datetime.now(UTC).isoformat(),
            },
        )
        # Older data files of the interval stay: a registered version's lineage may name them.
    return result


def check_interval(
    df: pd.DataFrame, cfg: PipelineConfig, interval: tuple[datetime, datetime], where: str
) -> None:
    """Refuse a file whose time column lies outside the run's data interval (a stale or misdated
    delivery), beyond the share ``schema.max_outside_interval`` allows."""
    import pandas as pd

    col = cfg.data_schema.time_column
    start, end = (
        pd.Timestamp(t).tz_convert("UTC") if pd.Timestamp(t).tzinfo else pd.Timestamp(t, tz="UTC")
        for t in interval
    )
    times = pd.to_datetime(df[col], utc=True)
    outside = times.notna() & ((times < start) | (times >= end))
    allowed = cfg.data_schema.max_outside_interval * len(df)
    if int(outside.sum()) > allowed:
        raise DataContractError(
            f"{where}: {int(outside.sum())} of {len(df)} rows have {col} outside the data interval "
            f"{start.isoformat()}..{end.isoformat()} (from {times.min()} to {times.max()}); "
            f"schema.max_outside_interval allows {cfg.data_schema.max_outside_interval:.0%}"
        )


def quarantine(cat: Catalog, ds: str, shown: str, data: bytes, reason: str, run_id: str | None) -> None:
    """Keep a refused raw file and why it was refused, in ``quarantine/ds=<ds>/``."""
    folder = cat.quarantine_dir(ds)
    name = shown.rstrip("/").rsplit("/", 1)[-1] or "raw"
    if data:
        cat.lake.write_bytes(f"{folder}/{name}", data)
    cat.lake.write_json(
        f"{folder}/reason.json",
        {
            "source_uri": shown,
            "file": name if data else None,
            "reason": reason,
            "airflow_run_id": run_id,
            "quarantined_at": datetime.now(UTC).isoformat(),
        },
    )
