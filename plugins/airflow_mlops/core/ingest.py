"""Ingest: raw file -> typed, content-hashed, immutable Parquet snapshot of one data interval.

A partition (see :mod:`airflow_mlops.core.catalog`) holds one data file named by its content hash
and a ``manifest.json`` that points at it. Re-ingesting an interval writes the new file,
then the manifest (the commit point), then removes the old file: readers always see one whole
snapshot, and rows are never duplicated. The raw file is only read, never moved or changed.

Columns declared in ``schema.pii`` are hashed with a secret key (or dropped) before anything else
looks at the rows, so raw personal data never reaches the lake, error messages or the quarantine.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from airflow_mlops.core.catalog import Catalog
from airflow_mlops.core.config import PipelineConfig
from airflow_mlops.core.errors import ConfigError, DataContractError, DataNotFoundError
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


def parse_raw(data: bytes, fmt: str, name: str, *, show_bytes: bool = True) -> pd.DataFrame:
    """A raw file as it is (CSV cells as strings, so that coercion sees what was written).

    ``show_bytes=False`` keeps the raw bytes out of error messages (the file holds personal data).
    """
    import pandas as pd

    if not data.strip():
        raise DataContractError(f"{name}: the file is empty")
    try:
        if fmt == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        text = data.decode("utf-8-sig")  # a BOM is not part of the first column's name
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=True)
    except UnicodeDecodeError as e:
        shown = f": {data[e.start : e.start + 4]!r}" if show_bytes else ""
        raise DataContractError(f"{name}: not UTF-8 text (byte {e.start}{shown})") from e
    except Exception as e:
        raise DataContractError(f"{name}: cannot be read as {fmt}: {e}") from e


#: Hex characters of HMAC-SHA256 kept per hashed value: 128 bits, no collisions in practice.
PII_HASH_CHARS = 32
MIN_PII_KEY_BYTES = 16


def require_pii_key(cfg: PipelineConfig, key: bytes | None) -> bytes | None:
    """The key when the pipeline hashes columns; a ConfigError saying how to set it when absent."""
    schema = cfg.data_schema
    if not schema.pii_hashed:
        return None
    name = schema.pii_key_variable
    how = f"set it with `airflow variables set {name} <random secret>` (e.g. `openssl rand -hex 32`)"
    if not key:
        raise ConfigError(
            f"{cfg.name}: schema.pii hashes {schema.pii_hashed}, but the Airflow Variable {name!r} "
            f"(schema.pii_key_variable) holding the key is not set: {how}"
        )
    if len(key) < MIN_PII_KEY_BYTES:
        raise ConfigError(
            f"{cfg.name}: the key in the Airflow Variable {name!r} (schema.pii_key_variable) is shorter "
            f"than {MIN_PII_KEY_BYTES} bytes, too easy to guess; {how}"
        )
    return key


def pii_hash(key: bytes, value: object) -> str:
    """HMAC-SHA256 of ``str(value)``: equal values give equal hashes (joins and categories still
    work), and without the key nobody can hash a list of guesses to find them."""
    return hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:PII_HASH_CHARS]


def hide_pii(df: pd.DataFrame, cfg: PipelineConfig, key: bytes | None) -> pd.DataFrame:
    """The raw frame with ``schema.pii`` columns hashed or dropped; nulls stay null.

    Runs before coercion and derivation, so that no later step (or its error message) sees a raw
    value. A hashed column missing from the file is left for :func:`normalize` to report.
    """
    import pandas as pd

    schema = cfg.data_schema
    if not schema.has_pii:
        return df
    key = require_pii_key(cfg, key)
    dropped = [c for c, how in schema.pii.items() if how == "drop" and c in df.columns]
    out = df.drop(columns=dropped)
    if key is None:  # nothing to hash (require_pii_key raised if something was)
        return out
    for col in schema.pii_hashed:
        if col not in out.columns:
            continue
        # Each distinct value is hashed once; code -1 (a null) becomes <NA>.
        codes, uniques = pd.factorize(out[col], use_na_sentinel=True)
        hashed = pd.array([pii_hash(key, v) for v in uniques], dtype="string")
        out[col] = pd.Series(hashed.take(codes, allow_fill=True), index=out.index, dtype="string")
    return out


def _shown_values(values: pd.Series, show: bool) -> str:
    """Up to three of ``values`` for an error message, or only where they are when ``show`` is false:
    in a file with personal data a shifted row can put a raw value in any column."""
    if show:
        return ", ".join(repr(v) for v in values.unique()[:3])
    rows = [int(i) + 1 for i in values.index[:3]]
    return f"in data row(s) {rows} (values not shown: the pipeline declares schema.pii)"


def _bad_examples(raw: pd.Series, coerced: pd.Series, show: bool = True) -> str:
    mask = raw.notna() & coerced.isna()
    return _shown_values(raw[mask], show) if mask.any() else ""


def coerce_column(s: pd.Series, kind: str, column: str, where: str, show: bool = True) -> pd.Series:
    """Convert one column to its declared type; a value that does not convert is a contract error
    (quoting the value unless ``show`` is false)."""
    import pandas as pd

    if kind in ("int", "float"):
        out = pd.to_numeric(s, errors="coerce")
        bad = _bad_examples(s, out, show)
        if bad:
            raise DataContractError(f"{where}: column {column!r} ({kind}) has non-numeric values {bad}")
        if kind == "int":
            frac = out.notna() & (out % 1 != 0)
            if frac.any():
                shown = str(list(out[frac].head(3))) if show else _shown_values(out[frac], show)
                raise DataContractError(f"{where}: column {column!r} (int) has fractional values {shown}")
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
        bad = _bad_examples(s, out, show)
        if bad:
            raise DataContractError(f"{where}: column {column!r} (bool) has values {bad}")
        return out.astype("boolean")
    if kind in ("datetime", "date"):
        out = pd.to_datetime(s, errors="coerce", utc=True)
        bad = _bad_examples(s, out, show)
        if bad:
            raise DataContractError(f"{where}: column {column!r} ({kind}) has unparseable values {bad}")
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
    show = not schema.has_pii
    for col in cfg.raw_columns:
        out[col] = coerce_column(out[col], schema.columns[col], col, where, show)
    for col, expr in schema.derive.items():
        try:
            out[col] = out.eval(expr, engine="python")
        except Exception as e:
            raise DataContractError(f"{where}: schema.derive.{col}: {expr!r} failed: {e}") from e
        out[col] = coerce_column(out[col], schema.columns[col], col, where, show)
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
    pii_key: bytes | None = None,
) -> SnapshotResult:
    """Snapshot the raw file of interval ``ds`` into the lake (idempotent per interval).

    A file that breaks the data contract is copied whole into the pipeline's quarantine, with the
    reason beside it, before the error is raised: the input is kept, and nothing is snapshotted
    (for a pipeline with ``schema.pii`` only the reason is kept). ``interval`` (the run's data
    interval) bounds the time column; ``pii_key`` is the key of the hashed pii columns.
    """
    key = require_pii_key(cfg, pii_key)  # before reading anything: no key, no work
    has_pii = cfg.data_schema.has_pii
    source_uri = cfg.source.for_interval(ds)
    shown = cfg.source.for_interval(ds, shown=True)
    data = b""
    try:
        data = fetch_raw(source_uri, source_fs, shown=shown, max_bytes=cfg.source.max_bytes)
        raw = parse_raw(data, cfg.source.file_format, shown, show_bytes=not has_pii)
        raw = hide_pii(raw, cfg, key)
        df, dropped = normalize(raw, cfg, shown)
        if df.empty:
            raise DataContractError(f"{shown}: no rows left after schema.row_filter ({len(raw)} raw rows)")
        if interval is not None:
            check_interval(df, cfg, interval, shown)
    except DataContractError as e:
        note = None
        if has_pii and data:
            # A copy would put personal data in the lake: the raw file stays only where it was.
            note = (
                "the raw file was not copied because the pipeline declares PII columns (schema.pii); "
                f"it is still at {shown} (ingest only reads it)"
            )
            data = b""
        quarantine(Catalog(lake, cfg.name), ds, shown, data, str(e), run_id, note=note)
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


def quarantine(
    cat: Catalog,
    ds: str,
    shown: str,
    data: bytes,
    reason: str,
    run_id: str | None,
    *,
    note: str | None = None,
) -> None:
    """Keep a refused raw file (``data``; nothing when empty) and why it was refused, in
    ``quarantine/ds=<ds>/``; ``note`` tells a reader why no file is there."""
    folder = cat.quarantine_dir(ds)
    name = shown.rstrip("/").rsplit("/", 1)[-1] or "raw"
    if data:
        cat.lake.write_bytes(f"{folder}/{name}", data)
    record: dict[str, str | None] = {
        "source_uri": shown,
        "file": name if data else None,
        "reason": reason,
        "airflow_run_id": run_id,
        "quarantined_at": datetime.now(UTC).isoformat(),
    }
    if note:
        record["note"] = note
    cat.lake.write_json(f"{folder}/reason.json", record)
