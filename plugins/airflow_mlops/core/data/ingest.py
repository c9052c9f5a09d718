"""Ingest: raw file -> typed, content-hashed, immutable Parquet snapshot of one data interval.

A partition (see :mod:`airflow_mlops.core.foundation.catalog`) holds one data file named by its content hash
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
import json
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from airflow_mlops.core.data import commits
from airflow_mlops.core.data.sources import csvscan, rawfile, records, sqlsource
from airflow_mlops.core.data.sources.coerce import coerce_column
from airflow_mlops.core.data.sources.quarantine import quarantine
from airflow_mlops.core.foundation import staging
from airflow_mlops.core.foundation import streams as overlap
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.result import Result

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


def parse_raw(
    data: bytes,
    fmt: str,
    name: str,
    *,
    show_bytes: bool = True,
    free_text: Collection[str] = (),
) -> pd.DataFrame:
    """A raw file as it is (CSV cells as strings, so that coercion sees what was written), each
    row indexed by its line (:mod:`records`; Parquet: its row), after the same scan the block
    readers make (:mod:`csvscan`, :mod:`jsonscan`; ``free_text`` as there).

    ``show_bytes=False`` keeps the raw bytes out of error messages (the file holds personal data).
    """
    import pandas as pd

    if not data.strip():
        raise DataContractError(f"{name}: the file is empty")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            csvscan.unique_names(pq.read_schema(io.BytesIO(data)).names, name)
            return records.number_rows(pd.read_parquet(io.BytesIO(data)), 0)
        lines = records.scan_bytes(data, fmt, name, free_text=free_text, show=show_bytes)
        text = data.decode("utf-8-sig")  # a BOM is not part of the first column's name
        if fmt == "jsonl":
            df = pd.DataFrame.from_records([json.loads(ln) for ln in text.split("\n") if ln.strip()])
        else:
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=True)
        return records.place(df, lines, name)
    except DataContractError:
        raise
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
    # Rows keep the file's order: a batch is written as it streams, never sorted whole (training
    # sorts its window by time itself).
    return out[list(schema.columns)].reset_index(drop=True), dropped


#: Version of :class:`ContentHash`'s definition, recorded in each manifest. 2: rows in the raw
#: file's order (1 sorted them by the time column first, which a streamed batch cannot do).
HASH_VERSION: Final = 2


class ContentHash:
    """SHA-256 of the column types and of each row's values (pandas' row hash), independent of
    Parquet writer versions and of how the rows are split into frames: fed frame by frame, it
    gives what it gives for the whole table."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._types: str | None = None

    def update(self, df: pd.DataFrame) -> ContentHash:
        import pandas as pd

        types = repr([(c, str(t)) for c, t in df.dtypes.items()])
        if self._types is None:
            self._types = types
            self._h.update(types.encode())
        elif types != self._types:  # pragma: no cover - normalize types every frame the same way
            raise ValueError(f"column types changed between frames: {self._types} then {types}")
        self._h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        return self

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def content_hash(df: pd.DataFrame) -> str:
    """The :class:`ContentHash` of a whole frame."""
    return ContentHash().update(df).hexdigest()


@dataclass
class _Built:
    """A snapshot built in a staged local file, not yet in the lake."""

    rows: int = 0
    rows_raw: int = 0
    dropped: int = 0
    digest: str = ""
    columns: dict[str, str] = field(default_factory=dict)


def _build(
    frames: Iterator[tuple[str, pd.DataFrame]],
    cfg: PipelineConfig,
    key: bytes | None,
    shown: str,
    interval: tuple[datetime, datetime] | None,
    tmp: str,
    target: str,
) -> _Built:
    """Normalize, check, hash and write the raw frames (each with how errors name its file), one
    at a time, into the Parquet file ``tmp`` (the next frame read and the last one written while
    one is worked on: :mod:`overlap`); a failed write is a LakeWriteError naming ``target``."""
    import pyarrow as pa

    blocks = overlap.prefetch(frames)

    built, digest = _Built(), ContentHash()
    timed = cfg.data_schema.time_column is not None  # records without a time: nothing to check
    window = IntervalCheck(cfg, interval, shown) if timed and interval is not None else None
    writer: staging.ParquetSink | None = None
    behind: overlap.Behind | None = None  # writes a block while the next is typed and hashed
    try:
        for where, raw in blocks:
            built.rows_raw += len(raw)
            df, dropped = normalize(hide_pii(raw, cfg, key), cfg, where)
            built.dropped += dropped
            built.rows += len(df)
            if window is not None:
                window.add(df)
            digest.update(df)
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                # Arrow-backed strings arrive as large_string: the file keeps plain strings.
                fields = [
                    f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f for f in table.schema
                ]
                writer = staging.ParquetSink(tmp, pa.schema(fields, table.schema.metadata), target)
                behind = overlap.Behind(writer.write_table)
                built.columns = {c: str(t) for c, t in df.dtypes.items()}
            assert writer is not None and behind is not None
            behind.put(table if table.schema.equals(writer.schema) else table.cast(writer.schema))
    finally:
        blocks.close()
        if behind is not None:
            behind.close()
        if writer is not None:
            writer.close()
    if not built.rows:
        raise DataContractError(f"{shown}: no rows left after schema.row_filter ({built.rows_raw} raw rows)")
    if window is not None:
        window.check(built.rows)
    built.digest = digest.hexdigest()
    return built


def _snapshot_file(
    fs: fsspec.AbstractFileSystem,
    paths: list[str],
    cfg: PipelineConfig,
    key: bytes | None,
    shown: str,
    interval: tuple[datetime, datetime] | None,
    tmp: str,
    target: str,
) -> _Built:
    """The raw files (one after the other) as a snapshot in ``tmp``, read the fastest way that reads them.

    First pyarrow converts the types as it streams; a cell it cannot convert sends the file round
    again as strings, so that coercion names the column and quotes the value; a file pyarrow cannot
    read at all (ragged rows, bad UTF-8, a broken Parquet file) is read whole as pandas always has,
    which says exactly why, or reads what it can. Only refused or odd files pay for the fallbacks.
    """
    import pyarrow as pa

    for typed in (True, False) if cfg.source.file_format == "csv" else (True,):
        try:
            return _build(
                rawfile.frames(fs, paths, cfg, shown, typed=typed), cfg, key, shown, interval, tmp, target
            )
        except pa.ArrowInvalid:
            continue

    def whole() -> Iterator[tuple[str, pd.DataFrame]]:
        for path in paths:
            with fs.open(path, "rb") as f:
                data = bytes(f.read())
            where = rawfile.file_label(shown, path, len(paths) > 1)
            schema = cfg.data_schema
            yield (
                where,
                parse_raw(
                    data,
                    cfg.source.file_format,
                    where,
                    show_bytes=not schema.has_pii,
                    free_text=schema.free_text or (),
                ),
            )

    return _build(whole(), cfg, key, shown, interval, tmp, target)


def ingest(
    cfg: PipelineConfig,
    lake: Lake,
    ds: str,
    *,
    source_fs: fsspec.AbstractFileSystem | None = None,
    run_id: str | None = None,
    interval: tuple[datetime, datetime] | None = None,
    pii_key: bytes | None = None,
    sql_reader: sqlsource.SqlReader | None = None,
) -> SnapshotResult:
    """Snapshot the raw file of interval ``ds`` into the lake (idempotent per interval).

    A ``source.sql`` pipeline reads the interval's rows through ``sql_reader`` instead (the Airflow
    hook's, so this module stays free of Airflow); a database that refuses the statement or
    returns the wrong thing is quarantined like a bad file, with the statement and its parameters
    as the record (never rows or credentials).

    A file that breaks the data contract is copied whole into the pipeline's quarantine, with the
    reason beside it, before the error is raised: the input is kept, and nothing is snapshotted
    (for a pipeline with ``schema.pii`` only the reason is kept). ``interval`` (the run's data
    interval) bounds the time column; ``pii_key`` is the key of the hashed pii columns.
    """
    key = require_pii_key(cfg, pii_key)  # before reading anything: no key, no work
    has_pii = cfg.data_schema.has_pii
    source_uri = cfg.source.for_interval(ds)
    shown = cfg.source.for_interval(ds, shown=True)
    cat = Catalog(lake, cfg.name)
    source: tuple[fsspec.AbstractFileSystem, list[str]] | None = None
    stmt: sqlsource.SqlStatement | None = None
    target = cat.partition(ds)
    tmp = lake.stage(target)  # removes staging files of killed ingests first
    try:
        try:
            if cfg.source.sql is not None:
                if sql_reader is None:
                    raise ConfigError(f"{cfg.name}: source.sql needs a reader of its database connection")
                stmt = sqlsource.read_statement(cfg, ds, interval)
                built = _build(
                    sqlsource.frames(cfg, sql_reader(stmt), stmt), cfg, key, shown, interval, tmp, target
                )
            else:
                source = rawfile.open_raw(
                    source_uri, source_fs, shown, cfg.source.max_bytes, cfg.source._roots
                )
                built = _snapshot_file(*source, cfg, key, shown, interval, tmp, target)
        except DataContractError as e:
            note = None
            if stmt is not None:
                note = "rows of a SQL source are not copied; the statement and its parameters are kept"
            if has_pii and source:
                # A copy would put personal data in the lake: the raw file stays only where it was.
                note = (
                    "the raw file was not copied because the pipeline declares PII columns (schema.pii); "
                    f"it is still at {shown} (ingest only reads it)"
                )
                source = None
            extra = {"sql": stmt.to_json()} if stmt is not None else None
            quarantine(cat, ds, shown, source, str(e), run_id, note=note, extra=extra)
            raise
        data_uri = cat.data_uri(ds, built.digest)
        previous = cat.manifest(ds)
        # The interval the batch was delivered for (row-count bounds scale with it); a run that
        # does not know it (the CLI) keeps the one recorded.
        span = [t.isoformat() for t in interval] if interval else (previous or {}).get("interval")
        unchanged = bool(
            previous
            and previous["content_hash"] == built.digest
            and previous.get("interval") == span
            and lake.exists(data_uri)
        )
        result = SnapshotResult(
            pipeline=cfg.name,
            ds=ds,
            uri=data_uri,
            manifest_uri=cat.manifest_uri(ds),
            source_uri=shown,
            rows=built.rows,
            rows_raw=built.rows_raw,
            rows_filtered=built.dropped,
            content_hash=built.digest,
            columns=built.columns,
            unchanged=unchanged,
        )
        manifest = previous
        if not unchanged:
            lake.commit(tmp, data_uri)
            manifest = {
                "pipeline": cfg.name,
                "ds": ds,
                "data": data_uri.rsplit("/", 1)[1],
                "content_hash": built.digest,
                "hash_version": HASH_VERSION,
                "rows": built.rows,
                "rows_raw": built.rows_raw,
                "rows_filtered": built.dropped,
                "columns": built.columns,
                "interval": span,
                "source_uri": shown,
                "source_files": [rawfile.file_name(p) for p in source[1]] if source else [],
                **({"sql": stmt.to_json()} if stmt is not None else {}),
                "config_hash": cfg.config_hash,
                "airflow_run_id": run_id,
                "ingested_at": datetime.now(UTC).isoformat(),
            }
            lake.write_json(result.manifest_uri, manifest)
            # Older data files of the interval stay: a registered version's lineage may name them.
        if not unchanged or not commits.has(
            cat, ds
        ):  # after the manifest, the commit point: the ledger never names a commit that did not happen
            commits.record(cat, ds, manifest or {})
        return result
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class IntervalCheck:
    """Refuse a file whose time column lies outside the run's data interval (a stale or misdated
    delivery), beyond the share ``schema.max_outside_interval`` allows; fed frame by frame."""

    def __init__(self, cfg: PipelineConfig, interval: tuple[datetime, datetime], where: str) -> None:
        import pandas as pd

        self.cfg, self.where = cfg, where
        self.start, self.end = (
            pd.Timestamp(t).tz_convert("UTC") if pd.Timestamp(t).tzinfo else pd.Timestamp(t, tz="UTC")
            for t in interval
        )
        self.outside = 0
        self.seen: list[pd.Timestamp] = []  # the earliest and latest time of each frame

    def add(self, df: pd.DataFrame) -> None:
        """``df`` is a normalized frame: :func:`coerce_column` made its time column UTC times."""
        import pandas as pd

        times = df[self.cfg.data_schema.time_column]
        self.outside += int((times.notna() & ((times < self.start) | (times >= self.end))).sum())
        self.seen += [t for t in (times.min(), times.max()) if pd.notna(t)]

    def check(self, rows: int) -> None:
        share = self.cfg.data_schema.max_outside_interval
        if self.outside > share * rows:
            col = self.cfg.data_schema.time_column
            first, last = (min(self.seen), max(self.seen)) if self.seen else (None, None)
            raise DataContractError(
                f"{self.where}: {self.outside} of {rows} rows have {col} outside the data interval "
                f"{self.start.isoformat()}..{self.end.isoformat()} (from {first} to {last}); "
                f"schema.max_outside_interval allows {share:.0%}"
            )
