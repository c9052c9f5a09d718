"""The quarantine: raw files ingest refused, kept with the reason, never in a partition. Only files
that passed the source-root check (:mod:`.confine`) are ever copied."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

from airflow_mlops.core.data.sources import rawfile
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.lake import write_failed

if TYPE_CHECKING:
    import fsspec


def quarantine(
    cat: Catalog,
    ds: str,
    shown: str,
    source: tuple[fsspec.AbstractFileSystem, list[str]] | None,
    reason: str,
    run_id: str | None,
    *,
    note: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> None:
    """Keep refused raw files (copies of ``source``'s files, streamed; nothing when None) and why
    they were refused, in ``quarantine/ds=<ds>/``; ``note`` tells a reader why no file is there,
    ``extra`` adds fields to the record (a SQL source's statement)."""
    folder = cat.quarantine_dir(ds)
    names: list[str] = []
    if source is not None:
        fs, paths = source
        for path in paths:
            # One file keeps the name the source gives it; parts keep their own.
            name = rawfile.file_name(path if len(paths) > 1 else shown) or "raw"
            with cat.lake.staged(f"{folder}/{name}") as tmp, fs.open(path, "rb") as src:
                _copy(src, tmp, f"{folder}/{name}")
            names.append(name)
    record: dict[str, object] = {
        "source_uri": shown,
        "file": names[0] if len(names) == 1 else None,
        "files": names,
        "reason": reason,
        "airflow_run_id": run_id,
        "quarantined_at": datetime.now(UTC).isoformat(),
        **({"note": note} if note else {}),
        **(extra or {}),
    }
    cat.lake.write_json(f"{folder}/reason.json", record)


def _copy(src: IO[bytes], tmp: str, uri: str) -> None:
    """Stream ``src`` into the staged file ``tmp``: a failed write (not a failed read of the
    source) is a LakeWriteError naming ``uri``, the quarantine file it was for."""
    try:
        dst = open(tmp, "wb")  # noqa: SIM115 - closed below, where a failed close is named too
    except OSError as e:
        raise write_failed(uri, e) from e
    try:
        while chunk := src.read(8 << 20):
            try:
                dst.write(chunk)
            except OSError as e:
                raise write_failed(uri, e) from e
    finally:
        try:
            dst.close()
        except OSError as e:
            raise write_failed(uri, e) from e
