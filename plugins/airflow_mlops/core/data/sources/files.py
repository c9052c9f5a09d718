"""``source.kind: files``: each interval's raw file(s) at a URI template, read by the scanners of
this package (:mod:`rawfile`, :mod:`csvscan`, :mod:`jsonscan`, :mod:`records`)."""

from __future__ import annotations

import io
import json
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.data.sources import csvscan, rawfile, records
from airflow_mlops.core.data.sources.base import Batch, Frame, Interval, Kept, Source
from airflow_mlops.core.foundation.config import FilesSourceConfig
from airflow_mlops.core.foundation.errors import DataContractError

if TYPE_CHECKING:
    import pandas as pd


def parse_raw(
    data: bytes, fmt: str, name: str, *, show_bytes: bool = True, free_text: Collection[str] = ()
) -> pd.DataFrame:
    """A raw file as it is (CSV cells as strings, so that coercion sees what was written), each
    row indexed by its line (Parquet: its row), after the scan the block readers make.
    ``show_bytes=False`` keeps raw bytes out of error messages (the file holds personal data)."""
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


class FilesSource(Source):
    """Raw files by URI template, local or in object storage (any fsspec filesystem)."""

    kind = "files"
    hook = "airflow_mlops.hooks.lake.LakeHook"

    @property
    def config(self) -> FilesSourceConfig:
        assert isinstance(self.cfg.source, FilesSourceConfig)  # source_of chose this class by kind
        return self.cfg.source

    @property
    def conn_id(self) -> str | None:
        return self.config.conn_id

    @property
    def kept_in_quarantine(self) -> str:
        return "The reason is" if self.cfg.data_schema.has_pii else "The raw file and the reason are"

    def where(self, ds: str, *, shown: bool = True) -> str:
        return self.config.for_interval(ds, shown=shown)

    def readiness(self, ds: str, interval: Interval) -> dict[str, Any]:
        return {"uri": self.where(ds, shown=False)}

    @classmethod
    def ready(cls, check: Mapping[str, Any], conn: Any) -> bool:
        """``conn`` has ``file_exists(uri)`` (a pattern: whether a file matches)."""
        return bool(conn.file_exists(check["uri"]))

    def open(self, ds: str, interval: Interval, conn: Any) -> Batch:
        """The interval's files, checked (:func:`rawfile.open_raw`), with three readings: pyarrow
        typing as it streams; for CSV pyarrow as strings, so that coercion quotes a value it could
        not convert; last the whole file read by pandas, which says exactly why pyarrow could not.
        Only refused or odd files pay for the fallbacks. ``conn`` (None: the lake's) has
        ``filesystem(uri)``."""
        uri, shown, c, cfg = self.where(ds, shown=False), self.where(ds), self.config, self.cfg
        fs, paths = rawfile.open_raw(uri, conn and conn.filesystem(uri), shown, c.max_bytes, c._roots)
        show, free = not cfg.data_schema.has_pii, cfg.data_schema.free_text or ()

        def whole() -> Iterator[Frame]:
            for path in paths:
                with fs.open(path, "rb") as f:
                    data = bytes(f.read())
                where = rawfile.file_label(shown, path, len(paths) > 1)
                yield where, parse_raw(data, c.file_format, where, show_bytes=show, free_text=free)

        readings = [lambda: rawfile.frames(fs, paths, cfg, shown, typed=True)]
        if c.file_format == "csv":
            readings.append(lambda: rawfile.frames(fs, paths, cfg, shown, typed=False))
        return Batch([*readings, whole], files=(fs, paths))

    def kept(self, ds: str, batch: Batch | None) -> Kept:
        if batch is not None and self.cfg.data_schema.has_pii:
            # A copy would put personal data in the lake: the raw file stays only where it was.
            note = (
                "the raw file was not copied because the pipeline declares PII columns (schema.pii); "
                f"it is still at {self.where(ds)} (ingest only reads it)"
            )
            return Kept(None, note, {})
        return Kept(batch.files if batch else None, None, {})


SOURCE = FilesSource
