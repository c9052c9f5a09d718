"""Reading a raw file in frames of bounded size, only the columns the pipeline declares.

A 10-million-row CSV read whole costs several times its size in memory (bytes, then every column
as Python strings). pyarrow's streaming CSV reader parses a block at a time with several threads,
skips the columns nobody asked for, and converts declared types as it goes; Parquet is read by
batches of its row groups. Each frame is what :func:`airflow_mlops.core.data.ingest.normalize` expects.

``typed=True`` lets pyarrow convert numbers, booleans and times (fast); ``typed=False`` leaves
every cell a string for :func:`~airflow_mlops.core.data.sources.coerce.coerce_column`, whose errors quote the
offending value. A file pyarrow cannot convert raises ``pyarrow.ArrowInvalid`` and the caller
tries the next, slower way.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Final

from airflow_mlops.core.data.sources import confine, csvscan, records, textscan
from airflow_mlops.core.data.sources.csvscan import CsvScan
from airflow_mlops.core.data.sources.jsonscan import JsonlScan
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataContractError, DataNotFoundError
from airflow_mlops.core.foundation.lake import filesystem

if TYPE_CHECKING:
    import fsspec
    import pandas as pd
    import pyarrow as pa

#: Bytes of CSV parsed at a time: about 150,000 flights a block, so per-frame overhead is noise
#: and a block's frame stays far below a gigabyte whatever the file's size.
BLOCK_BYTES: Final = textscan.BLOCK_BYTES
PARQUET_BATCH_ROWS: Final = 200_000
#: The cells pandas' ``read_csv`` reads as missing (``keep_default_na``): both readers agree.
NULL_TOKENS: Final = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip
_TRUE = ["true", "1", "yes", "t", "1.0"]
_FALSE = ["false", "0", "no", "f", "0.0"]


def _cases(words: list[str]) -> list[str]:
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
    """The raw files of an interval (one, or every match of a pattern in name order), after
    checking each resolves inside the allowed source ``roots`` (default: the settings'), they
    exist, none is empty and together they are not over ``max_bytes``. Errors name ``shown``:
    ``uri`` can hold an expanded secret."""
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
    """The Arrow type a schema column is read as by files and databases alike, so that the same
    rows give the same snapshot; untyped (text) when the caller leaves typing to coercion."""
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
    """The declared raw columns of the files, one after the other, a frame per block, each with
    how errors name its file; missing columns are a contract error naming what the file has."""
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
    """JSON Lines, a block of whole lines at a time, the declared columns typed by pyarrow; keys
    nobody declared are ignored. A declared column in no record of the first block is missing. A
    value of another type (or a line that is not JSON) raises ``ArrowInvalid``: the caller then
    reads the file with pandas, whose coercion and errors say which value and which line."""
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
        if _infinite(table):
            raise pa.ArrowInvalid("a float past float64's range: read as written, to quote it")
        frame = to_pandas(table)
        if len(frame) != len(lines):
            raise pa.ArrowInvalid(records.count_mismatch(len(frame), len(lines), shown))
        yield records.place(frame, lines, shown)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """pandas' nullable types, which coercion makes anyway (a null keeps an int an int). Strings
    stay in Arrow's buffers (pandas' "string" backed by pyarrow): a Python object per cell cost a
    fifth of ingest's time, and the row hash and the Parquet column are the same either way."""
    import pandas as pd
    import pyarrow as pa

    mapper = {
        pa.string(): pd.StringDtype("pyarrow"),
        pa.int64(): pd.Int64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return table.to_pandas(types_mapper=mapper.get)


def _require(wanted: list[str], has: list[str], shown: str) -> None:
    missing = [c for c in wanted if c not in has]
    if missing:
        raise DataContractError(f"{shown}: missing column(s) {missing}; the file has {list(has)}")


def _csv_frames(
    f: io.BufferedIOBase, header: bytes, cfg: PipelineConfig, typed: bool, scan: CsvScan
) -> Iterator[pd.DataFrame]:
    """The rows after ``header``, a block of whole lines at a time, each parsed on its own.

    pyarrow's own streaming reader (``open_csv``) keeps memory that grows with the number of blocks
    read (measured: 0.26 GB for 1M flights, 0.76 GB for 10M, reading alone); parsing independent
    blocks of whole lines keeps it at a block's. A quoted value with a line break in it is not
    read this way (nor by ``open_csv`` by default): the block is refused (``ArrowInvalid``) and the
    caller falls back to pandas. ``scan`` checks each block's records first (a refusal there is
    final, whatever the reader) and gives their lines, which must match the rows pyarrow read."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = cfg.data_schema.columns
    convert = pacsv.ConvertOptions(
        include_columns=cfg.raw_columns,
        column_types={c: arrow_type(columns[c], typed) for c in cfg.raw_columns},
        null_values=NULL_TOKENS,
        strings_can_be_null=True,
        true_values=_cases(_TRUE),
        false_values=_cases(_FALSE),
    )
    if not header.endswith(b"\n"):
        header += b"\n"
    for block in textscan.blocks(f, BLOCK_BYTES):
        lines, multiline = scan.feed(block)
        if multiline:
            raise pa.ArrowInvalid(f"{scan.where}: values with line breaks (schema.free_text)")
        table = pacsv.read_csv(pa.BufferReader(header + block), convert_options=convert)
        if typed and _infinite(table):
            raise pa.ArrowInvalid("a float past float64's range: read as written, to quote it")
        frame = to_pandas(table)
        if len(frame) != len(lines):
            raise pa.ArrowInvalid(records.count_mismatch(len(frame), len(lines), scan.where))
        yield records.place(frame, lines, scan.where)
    scan.finish()


def _infinite(table: pa.Table) -> bool:
    """Whether a float column holds an infinity (pyarrow reads 1e999 as one)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return any(
        pa.types.is_floating(col.type) and pc.any(pc.is_inf(col)).as_py() is True for col in table.columns
    )
