"""Ingest: one data interval of a source -> typed, content-hashed, immutable Parquet snapshot.

A partition (:mod:`airflow_mlops.core.foundation.catalog`) holds data files named by content hash
and a ``manifest.json`` naming the current one. Re-ingesting writes the new file, then the manifest
(the commit point): readers always see one whole snapshot, rows are never duplicated, and the
source is only read. Whatever its kind, a source's raw frames have personal data hidden first
(:mod:`.pii`), then are typed, derived and filtered (:mod:`.normalize`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_mlops.core.data import commits
from airflow_mlops.core.data.normalize import HASH_VERSION, ContentHash, IntervalCheck, normalize
from airflow_mlops.core.data.pii import hide_pii, require_pii_key
from airflow_mlops.core.data.sources import rawfile
from airflow_mlops.core.data.sources.base import Batch, Frame, source_of
from airflow_mlops.core.data.sources.quarantine import quarantine
from airflow_mlops.core.foundation import staging
from airflow_mlops.core.foundation import streams as overlap
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataContractError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.result import Result


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


@dataclass
class _Built:
    """A snapshot built in a staged local file, not yet in the lake."""

    rows: int = 0
    rows_raw: int = 0
    dropped: int = 0
    digest: str = ""
    columns: dict[str, str] = field(default_factory=dict)


def _build(
    frames: Iterator[Frame],
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


def _read(
    batch: Batch,
    cfg: PipelineConfig,
    key: bytes | None,
    shown: str,
    interval: tuple[datetime, datetime] | None,
    tmp: str,
    target: str,
) -> _Built:
    """The batch as a snapshot in ``tmp``, by the first of its readings that can read it: a
    reading that raises ``pyarrow.ArrowInvalid`` hands over to the next (see ``Batch``)."""
    import pyarrow as pa

    *first, last = batch.readings
    for reading in first:
        try:
            return _build(reading(), cfg, key, shown, interval, tmp, target)
        except pa.ArrowInvalid:
            continue
    return _build(last(), cfg, key, shown, interval, tmp, target)


def ingest(
    cfg: PipelineConfig,
    lake: Lake,
    ds: str,
    *,
    conn: Any = None,
    run_id: str | None = None,
    interval: tuple[datetime, datetime] | None = None,
    pii_key: bytes | None = None,
) -> SnapshotResult:
    """Snapshot interval ``ds`` of the pipeline's source into the lake (idempotent per interval).

    ``conn`` is what the source reads through (its Airflow hook, so this module stays free of
    Airflow; None: a files source reads through the lake's filesystem). Data that breaks the
    contract is quarantined with the reason, and what else its source keeps (the raw files, or a
    SQL statement and its parameters; for a pipeline with ``schema.pii`` only the reason), before
    the error is raised: nothing is snapshotted. ``interval`` (the run's data interval) bounds the
    time column; ``pii_key`` is the key of the hashed pii columns.
    """
    key = require_pii_key(cfg, pii_key)  # before reading anything: no key, no work
    src = source_of(cfg)
    shown = src.where(ds)
    cat = Catalog(lake, cfg.name)
    batch: Batch | None = None
    target = cat.partition(ds)
    tmp = lake.stage(target)  # removes staging files of killed ingests first
    try:
        try:
            batch = src.open(ds, interval, conn)
            built = _read(batch, cfg, key, shown, interval, tmp, target)
        except DataContractError as e:
            kept = src.kept(ds, batch)
            extra = dict(kept.record) or None
            quarantine(cat, ds, shown, kept.files, str(e), run_id, note=kept.note, extra=extra)
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
                "source_files": [rawfile.file_name(p) for p in batch.files[1]] if batch.files else [],
                **batch.record,
                "config_hash": cfg.config_hash,
                "airflow_run_id": run_id,
                "ingested_at": datetime.now(UTC).isoformat(),
            }
            lake.write_json(result.manifest_uri, manifest)
            # Older data files of the interval stay: a registered version's lineage may name them.
        # After the manifest, the commit point: the ledger never names a commit that did not happen.
        if not unchanged or not commits.has(cat, ds):
            commits.record(cat, ds, manifest or {})
        return result
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
