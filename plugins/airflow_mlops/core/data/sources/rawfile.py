"""Reading a raw file in frames of bounded size, only the columns the pipeline declares.

A 10-million-row CSV read whole costs several times its size in memory; pyarrow parses a block at
a time, skips undeclared columns and converts declared types as it goes (Parquet: by row groups).
``typed=False`` leaves every cell a string for :func:`.coerce.coerce_column`, whose errors quote
the value. A file pyarrow cannot convert raises ``pyarrow.ArrowInvalid``: the caller tries the
next, slower way.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Final

from airflow_mlops.core.data.sources import confine, csvscan, records, textscan
from airflow_mlops.core.data.sources.coerce import FALSE_WORDS, TRUE_WORDS
from airflow_mlops.core.data.sources.csvscan import CsvScan
from airflow_mlops.core.data.sources.jsonscan import JsonlScan
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataContractError, DataNotFoundError
from airflow_mlops.core.foundation.lake import filesystem

if TYPE_CHECKING:
    import fsspec
    import numpy as np
    import pandas as pd
    import pyarrow as pa

#: Bytes parsed at a time: per-frame overhead is noise, a block's frame far below a gigabyte.
BLOCK_BYTES: Final = textscan.BLOCK_BYTES
PARQUET_BATCH_ROWS: Final = 200_000
#: The cells pandas' ``read_csv`` reads as missing (``keep_default_na``): both readers agree.
NULL_TOKENS: Final = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip


def _cases(words: tuple[str, ...]) -> list[str]:
    return sorted({v for w in words for v in (w, w.upper(), w.capitalize())})


#: A source URI with one of these after its interval is filled in names every file it matches.
GLOB_CHARS: Final = "*?["


def is_glob(uri: str) -> bool:
    """Whether ``uri`` is a pattern for several files of one interval."""
    return any(c in uri for c in GLOB_CHARS)


def file_name(path: str) -> str:
    """The last part of a path or URI: how a raw file is named in manifests and the quarantine."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def file_label(shown: str, path: str, several: bool) -> str:
    """How errors name one raw file: the source, and which of its files when it has several."""
    return f"{shown} ({file_name(path)})" if several else shown


def open_raw(
    uri: str,
    fs: fsspec.AbstractFileSystem | None,
    shown: str,
    max_bytes: int | None,
    roots: Sequence[str] | None = None,
) -> tuple[fsspec.AbstractFileSystem, list[str]]:
    """The raw files of an interval (one, or a pattern's matches in name order), each inside the
    source ``roots`` (default: the settings'), present and not empty, together within ``max_bytes``.
    Errors name ``shown``: ``uri`` can hold an expanded secret."""
    from airflow_mlops.core.foundation.settings import get_settings

    allowed = get_settings().source_roots if roots is None else roots
    fs_, path = filesystem(uri, fs)
    several = is_glob(path)
    if several:
        confine.check(fs_, confine.fixed_part(path, GLOB_CHARS), allowed, shown)
        paths = sorted(fs_.glob(path))
        if not paths:
            raise DataNotFoundError(f"{shown}: no raw file matches")
        for p in paths:  # a match can be a link, or sit in a linked folder
            confine.check(fs_, p, allowed, file_label(shown, p, True))
    else:
        confine.check(fs_, path, allowed, shown)
        if not fs_.exists(path):
            raise DataNotFoundError(f"{shown}: raw file not found")
        paths = [path]
    sizes = [int(fs_.size(p)) for p in paths]
    if max_bytes is not None and sum(sizes) > max_bytes:
        files = f" in {len(paths)} files" if several else ""
        raise DataContractError(
            f"{shown}: {sum(sizes)} bytes{files}, larger than source.max_bytes={max_bytes}"
        )
    for p, size in zip(paths, sizes, strict=True):
        if size == 0:
            raise DataContractError(f"{file_label(shown, p, several)}: the file is empty")
    return fs_, paths


def arrow_type(kind: str, typed: bool) -> pa.DataType:
    """The Arrow type of a schema column for files and databases alike (same rows, same snapshot);
    text when typing is left to coercion."""
    import pyarrow as pa

    if not typed:
        return pa.string()
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "datetime": pa.timestamp("ns", tz="UTC"),
        "date": pa.timestamp("ns", tz="UTC"),
    }.get(kind, pa.string())


def frames(
    fs: fsspec.AbstractFileSystem, paths: list[str], cfg: PipelineConfig, shown: str, *, typed: bool
) -> Iterator[tuple[str, pd.DataFrame]]:
    """The declared raw columns of the files, a frame per block, each with how errors name its file."""
    for path in paths:
        where = file_label(shown, path, len(paths) > 1)
        for frame in _file_frames(fs, path, cfg, where, typed=typed):
            yield where, frame


def _file_frames(
    fs: fsspec.AbstractFileSystem, path: str, cfg: PipelineConfig, shown: str, *, typed: bool
) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    wanted = cfg.raw_columns
    show = not cfg.data_schema.has_pii
    fmt = getattr(cfg.source, "file_format", "csv")  # only a files source has files
    with fs.open(path, "rb") as f:
        if fmt == "parquet":
            with pq.ParquetFile(f) as pf:
                csvscan.unique_names(pf.schema_arrow.names, shown)
                _require(wanted, pf.schema_arrow.names, shown)
                first = 0
                for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
                    yield records.number_rows(batch.to_pandas(), first)
                    first += batch.num_rows
            return
        if fmt == "jsonl":
            yield from _jsonl_frames(f, cfg, shown)
            return
        header = f.readline()
        scan = CsvScan(header, shown, cfg.data_schema.free_text or (), show=show)
        _require(wanted, scan.names, shown)
        yield from _csv_frames(f, header[textscan.sniff(header, shown) :], cfg, typed, scan)


def _jsonl_frames(f: io.BufferedIOBase, cfg: PipelineConfig, shown: str) -> Iterator[pd.DataFrame]:
    """JSON Lines, a block of whole lines at a time, the declared columns typed by pyarrow (other
    keys ignored). A value of another type or a line that is not JSON raises ``ArrowInvalid``: the
    caller then reads with pandas, whose coercion names the value and the line."""
    import pyarrow as pa
    import pyarrow.json as pajson

    columns = cfg.data_schema.columns
    schema = pa.schema([(c, arrow_type(columns[c], typed=True)) for c in cfg.raw_columns])
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    scan = JsonlScan(shown, show=not cfg.data_schema.has_pii)
    for i, block in enumerate(textscan.blocks(f, BLOCK_BYTES)):
        lines = scan.feed(block)  # refuses what pyarrow would read wrong, naming the line
        if i == 0:  # the keys the records have, before the declared schema fills absent ones
            block = block[textscan.sniff(block, shown) :]
            _require(cfg.raw_columns, pajson.read_json(pa.BufferReader(block)).schema.names, shown)
        table = pajson.read_json(pa.BufferReader(block), parse_options=options)
        yield _placed(table, lines, shown, typed=True)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """pandas' nullable types (a null keeps an int an int); strings stay in Arrow's buffers: a
    Python object per cell cost a fifth of ingest's time, for the same hash and Parquet column."""
    import pandas as pd
    import pyarrow as pa

    mapper = {
        pa.string(): pd.StringDtype("pyarrow"),
        pa.int64(): pd.Int64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return table.to_pandas(types_mapper=mapper.get)


def _require(wanted: list[str], has: list[str], shown: str) -> None:
    if missing := [c for c in wanted if c not in has]:
        raise DataContractError(f"{shown}: missing column(s) {missing}; the file has {list(has)}")


def _csv_frames(
    f: io.BufferedIOBase, header: bytes, cfg: PipelineConfig, typed: bool, scan: CsvScan
) -> Iterator[pd.DataFrame]:
    """The rows after ``header``, a block of whole lines at a time, each parsed on its own:
    pyarrow's ``open_csv`` holds memory growing with the blocks read (0.76 GB for 10M flights).
    A value with a line break hands over to pandas (``ArrowInvalid``). ``scan`` checks each
    block's records first (its refusal is final) and gives the lines pyarrow's rows must match."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = cfg.data_schema.columns
    convert = pacsv.ConvertOptions(
        include_columns=cfg.raw_columns,
        column_types={c: arrow_type(columns[c], typed) for c in cfg.raw_columns},
        null_values=NULL_TOKENS,
        strings_can_be_null=True,
        true_values=_cases(TRUE_WORDS),
        false_values=_cases(FALSE_WORDS),
    )
    if not header.endswith(b"\n"):
        header += b"\n"
    for block in textscan.blocks(f, BLOCK_BYTES):
        lines, multiline = scan.feed(block)
        if multiline:
            raise pa.ArrowInvalid(f"{scan.where}: values with line breaks (schema.free_text)")
        table = pacsv.read_csv(pa.BufferReader(header + block), convert_options=convert)
        yield _placed(table, lines, scan.where, typed)
    scan.finish()


def _placed(table: pa.Table, lines: np.ndarray, where: str, typed: bool) -> pd.DataFrame:
    """A parsed block indexed by the lines its scan counted; a float pyarrow read as infinite
    (1e999) or another row count than the scan's hands over to the next reader."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if typed and any(pa.types.is_floating(c.type) and pc.any(pc.is_inf(c)).as_py() for c in table.columns):
        raise pa.ArrowInvalid("a float past float64's range: read as written, to quote it")
    frame = to_pandas(table)
    if len(frame) != len(lines):
        raise pa.ArrowInvalid(records.count_mismatch(len(frame), len(lines), where))
    return records.place(frame, lines, where)
