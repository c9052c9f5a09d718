"""Issue 21, section 2: a file that parses into the wrong rows is never validated.

Each class of input (a multi-line value, a duplicated column, a number past its type, a ragged
row, a truncated file, another encoding) with several inputs, each through every reader path:
pyarrow typed, the string re-read and pandas' whole-file read (forced as test_ingest_stream does),
and in blocks small enough that records cross block boundaries. A refusal names the file, the
line and the column; nothing is snapshotted and the quarantine keeps the file and the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.sources import rawfile, textscan
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, parse_pipeline
from airflow_mlops.core.foundation.errors import DataContractError
from airflow_mlops.core.foundation.lake import Lake

pytestmark = pytest.mark.unit
DAY = "2024-03-01"
HEADER = "at,shop,amount,units,note,returned"
PIPELINE = """
name: orders
source:
  uri: ${AIRFLOW_MLOPS_RAW_ROOT}/orders/{ds}.FMT
schema:
  columns:
    at: datetime
    shop: category
    amount: float
    units: int
    note: string
    returned: bool
  target: returned
  task: classification
  time_column: at
FREE
features:
  numeric: [amount, units]
  categorical: [shop]
model:
  estimator: sklearn.linear_model.LogisticRegression
split:
  training_window_days: 7
  test_fraction: 0.25
  min_training_rows: 10
metrics: [roc_auc]
gate:
  metric: roc_auc
  minimum: 0.5
drift:
  columns: [amount]
validation:
  suite: orders.json
schedules:
  start_date: 2024-03-01
"""


def pipeline(fmt: str = "csv", free_text: list[str] | None = None) -> PipelineConfig:
    free = f"  free_text: {json.dumps(free_text)}" if free_text is not None else ""
    return parse_pipeline(PIPELINE.replace("FMT", fmt).replace("FREE", free), "orders.yaml")


def row(hour: int, shop: str = "north", amount: str = "12.5", units: str = "3", note: str = "ok") -> str:
    return f"2024-03-01T{hour:02d}:00:00Z,{shop},{amount},{units},{note},false"


def good_rows(n: int = 8) -> list[str]:
    return [row(h, shop=("north", "south")[h % 2], units=str(h)) for h in range(n)]


def force_path(way: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force one reader path: pyarrow typed (or ``pyarrow``), pyarrow as strings, pandas whole; or
    the typed path in blocks of 64 bytes, so that records and quoted values cross block boundaries."""
    real = rawfile.frames

    def frames(fs, paths, cfg, shown, *, typed):  # type: ignore[no-untyped-def]
        if (way == "strings" and typed) or way == "whole":
            raise pa.ArrowInvalid("forced for the test")
        return real(fs, paths, cfg, shown, typed=typed)

    monkeypatch.setattr(rawfile, "frames", frames)
    if way == "tiny-blocks":
        monkeypatch.setattr(rawfile, "BLOCK_BYTES", 64)
        monkeypatch.setattr(textscan, "BLOCK_BYTES", 64)
    return way


@pytest.fixture(params=["typed", "strings", "whole", "tiny-blocks"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return force_path(str(request.param), monkeypatch)


def put(home: Path, content: bytes | str, fmt: str = "csv") -> Path:
    path = home / "raw" / "orders" / f"{DAY}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def refused(home: Path, cfg: PipelineConfig, pattern: str) -> str:
    """Ingest refuses the file with ``pattern`` (a regex) in its message, naming the file; the
    file is quarantined with the reason, and no snapshot is written."""
    lake = Lake((home / "lake").as_uri())
    with pytest.raises(DataContractError, match=pattern) as e:
        ingest(cfg, lake, DAY)
    msg = str(e.value)
    assert f"orders/{DAY}.{cfg.source.file_format}" in msg
    cat = Catalog(lake, cfg.name)
    assert cat.manifest(DAY) is None
    kept = home / "lake" / "orders" / "quarantine" / f"ds={DAY}"
    assert json.loads((kept / "reason.json").read_text())["reason"] == msg
    assert (kept / f"{DAY}.{cfg.source.file_format}").exists()
    return msg


def accepted(home: Path, cfg: PipelineConfig):  # type: ignore[no-untyped-def]
    lake = Lake((home / "lake").as_uri())
    res = ingest(cfg, lake, DAY)
    return res, lake.read_parquet(Catalog(lake, cfg.name).snapshot_uri(DAY))


def lines_of(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


# -- values with line breaks --------------------------------------------------------------------

MULTILINE = {
    # A stray quote in shop (line 3) closing on line 6: the merged record has the header's width.
    "stray-quote-same-width": (
        [
            row(0),
            row(1).replace(",north,", ',"north,'),
            row(2),
            row(3),
            row(4).replace(",north,", ',north",'),
        ],
        r"column 'shop' has a value with line breaks, opening on line 3 and closing on line 6",
    ),
    "quoted-note-two-lines": (
        [row(0), row(1, note='"first\nsecond"'), row(2)],
        r"column 'note' has a value with line breaks, opening on line 3 and closing on line 4",
    ),
    "crlf-in-amount": (
        [row(0), row(1), row(2, amount='"12\r\n.5"'), row(3)],
        r"column 'amount' has a value with line breaks, opening on line 4 and closing on line 5",
    ),
    "break-after-an-earlier-multiline-field": (
        [row(0), '2024-03-01T01:00:00Z,"no\nrth",12.5,"3\n",ok,false'],
        r"column 'shop' has a value with line breaks, opening on line 3 and closing on line 4",
    ),
}


@pytest.mark.parametrize("case", list(MULTILINE))
def test_a_value_with_line_breaks_outside_free_text_is_refused_naming_its_lines(
    home: Path, way: str, case: str
) -> None:
    rows, pattern = MULTILINE[case]
    put(home, lines_of(rows))
    refused(home, pipeline(), pattern)


def test_free_text_values_with_line_breaks_are_read_whole_on_every_path(home: Path, way: str) -> None:
    notes = ['"first line\nsecond, with a comma"', '"a\r\nb\r\nc"', '"said ""hi""\nthen left"']
    rows = [row(h, units=str(h), note=notes[h // 2 % 3] if h % 2 else "plain") for h in range(9)]
    put(home, lines_of(rows))
    res, snap = accepted(home, pipeline(free_text=["note"]))
    assert res.rows == res.rows_raw == 9
    assert snap["note"].tolist()[:6] == [
        "plain",
        "first line\nsecond, with a comma",
        "plain",
        "a\r\nb\r\nc",
        "plain",
        'said "hi"\nthen left',
    ]
    assert snap["units"].tolist() == list(range(9))


@pytest.mark.parametrize(
    ("rows", "pattern"),
    [
        (  # the quote opens in note on line 3 and swallows lines 4-5 whole
            [row(0), row(1, note='"open'), row(2), row(3), row(4, note='close"')],
            r"free-text column 'note' opening on line 3 and closing on line 6 holds whole records "
            r"of the header's 6 fields \(line 4 first\)",
        ),
        (
            [row(0), row(1), row(2, note='"x'), row(3), 'tail",false'],
            r"free-text column 'note' opening on line 4 and closing on line 6 holds whole records of the header's 6 fields \(line 5 first\)",
        ),
        (  # the quote opens in note on line 3 and closes in note on line 4: one row vanishes
            [row(0), row(1, note='"open'), row(2, note='close"'), row(3)],
            r"free-text column 'note' opening on line 3 and closing on line 4 holds the end of one "
            r"record and the start of the next \(2 \+ 5 fields, the header's 6",
        ),
        (  # free text in note, but the break sits in shop: still refused
            [row(0), row(1, shop='"no\nrth"')],
            r"column 'shop' has a value with line breaks, opening on line 3 and closing on line 4",
        ),
    ],
    ids=["swallows-two-rows", "swallows-one-row", "joins-two-rows", "break-in-another-column"],
)
def test_free_text_does_not_admit_swallowed_records(home: Path, way: str, rows, pattern: str) -> None:
    put(home, lines_of(rows))
    refused(home, pipeline(free_text=["note"]), pattern)


# -- duplicated column names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "pattern"),
    [
        ("at,shop,amount,units,note,returned,amount", r"column 'amount' appears twice .* positions 3 and 7"),
        ("at,shop,amount,units,shop,note,returned", r"column 'shop' appears twice .* positions 2 and 5"),
        (
            "extra,at,shop,amount,units,note,returned,extra",
            r"column 'extra' appears twice .* positions 1 and 8",
        ),
    ],
    ids=["declared-at-end", "declared-in-middle", "undeclared"],
)
def test_a_duplicated_csv_column_is_refused_naming_both_positions(
    home: Path, way: str, header: str, pattern: str
) -> None:
    width = header.count(",") + 1
    body = [",".join([r, *(["7"] * (width - 6))]) for r in good_rows()]
    put(home, "\n".join([header, *body]) + "\n")
    refused(home, pipeline(), pattern)


# -- numbers outside their type -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "pattern"),
    [
        ("units", "9223372036854775808", r"'units' \(int\) has value\(s\) outside int64's range"),
        ("units", "-9223372036854775809", r"'units' \(int\) has value\(s\) outside int64's range"),
        ("units", "99999999999999999999999", r"'units' \(int\) has value\(s\) outside int64's range"),
        ("units", "1e19", r"'units' \(int\) has value\(s\) outside int64's range"),
        ("amount", "1e999", r"'amount' \(float\) has value\(s\) outside float64's finite range"),
        ("amount", "-4e400", r"'amount' \(float\) has value\(s\) outside float64's finite range"),
        ("amount", "inf", r"'amount' \(float\) has value\(s\) outside float64's finite range"),
    ],
)
def test_a_number_outside_its_type_is_refused_naming_column_line_and_value(
    home: Path, way: str, column: str, value: str, pattern: str
) -> None:
    rows = good_rows()
    rows[4] = row(4, **{column: value})
    put(home, lines_of(rows))
    msg = refused(home, pipeline(), pattern)
    assert f"{value!r} (line 6)" in msg


def test_a_time_past_what_timestamps_hold_is_refused_saying_so(home: Path, way: str) -> None:
    rows = good_rows()
    rows[2] = rows[2].replace("2024-03-01T02", "2300-03-01T02")
    put(home, lines_of(rows))
    msg = refused(
        home, pipeline(), r"column 'at' \(datetime\) has unparseable values '2300-03-01T02:00:00Z' \(line 4\)"
    )
    assert "pandas' timestamps hold 1677-09-21 to 2262-04-11" in msg


def test_int64_bounds_themselves_are_kept_exactly(home: Path, way: str) -> None:
    rows = good_rows(3)
    rows[0] = row(0, units="9223372036854775807")
    rows[1] = row(1, units="-9223372036854775808")
    rows[2] = row(2, units="9007199254740993")  # 2**53 + 1: a float would lose the 3
    put(home, lines_of(rows))
    _, snap = accepted(home, pipeline())
    assert snap["units"].tolist() == [2**63 - 1, -(2**63), 2**53 + 1]


# -- ragged and truncated records ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "text", "fields"),
    [
        (5, "2024-03-01T03:00:00Z,north,12.5,3,false", 5),
        (3, "2024-03-01T01:00:00Z,north", 2),
        (9, "2024-03-01T07:00:00Z,north,12.5,3,ok,false,surplus", 7),
        (6, '2024-03-01T04:00:00Z,"north, east",12.5,3,false', 5),  # quoted: the csv module's path
        (4, "   ", 1),
    ],
    ids=["one-short", "four-short", "one-more", "quoted-short", "blank-with-spaces"],
)
def test_a_ragged_row_is_refused_with_its_line_and_field_counts(
    home: Path, way: str, line: int, text: str, fields: int
) -> None:
    rows = good_rows()
    rows[line - 2] = text
    put(home, lines_of(rows))
    refused(home, pipeline(), rf": line {line} has {fields} field\(s\), the header has 6 \(")


@pytest.mark.parametrize(
    ("tail", "pattern"),
    [
        (
            "2024-03-01T09:00:00Z,north,12",
            r"truncated: the last record \(line 10\) has 3 of the header's 6 fields",
        ),
        (
            "2024-03-01T09:00:00Z,north,12.5,3,ok",
            r"truncated: the last record \(line 10\) has 5 of the header's 6",
        ),
        (
            '2024-03-01T09:00:00Z,north,12.5,3,"an unfinished',
            r"truncated: a quoted value opens in the record on line 10",
        ),
        (
            '2024-03-01T09:00:00Z,north,12.5,3,"an unfinished\nsecond line\n',
            r"truncated: a quoted value opens .* line 10",
        ),
    ],
    ids=["mid-field", "one-field-short", "open-quote", "open-quote-ends-with-newline"],
)
def test_a_file_cut_mid_record_is_refused_as_truncated(home: Path, way: str, tail: str, pattern: str) -> None:
    put(home, lines_of(good_rows()) + tail)
    refused(home, pipeline(), pattern)


def test_a_whole_last_row_without_a_line_break_and_blank_lines_are_fine(home: Path, way: str) -> None:
    text = lines_of(good_rows(4)) + "\n\r\n" + row(9)  # blank lines, then no final line break
    put(home, text)
    res, snap = accepted(home, pipeline())
    assert res.rows == 5 and snap["units"].tolist() == [0, 1, 2, 3, 3]


# -- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "pattern"),
    [
        ("utf-16", r"the file is UTF-16 LE, not UTF-8 \(it starts with the byte order mark FF FE\)"),
        ("utf-16-be", r"the file is UTF-16 BE, not UTF-8 \(zero bytes sit between"),
        ("utf-16-le", r"the file is UTF-16 LE, not UTF-8 \(zero bytes sit between"),
        ("utf-32", r"the file is UTF-32 LE, not UTF-8 \(it starts with the byte order mark FF FE 00 00\)"),
        ("utf-32-be", r"the file is UTF-32 BE, not UTF-8"),
    ],
)
def test_a_wide_encoding_is_named(home: Path, way: str, encoding: str, pattern: str) -> None:
    put(home, lines_of(good_rows()).encode(encoding))
    refused(home, pipeline(), pattern)


@pytest.mark.parametrize(
    ("line", "shop", "byte", "char"),
    [
        (2, "caf\u00e9", "E9", "'\u00e9'"),
        (7, "M\u00fcnchen", "FC", "'\u00fc'"),
        (9, "\u20ac-shop", "80", "'\u20ac'"),
    ],
)
def test_latin1_or_cp1252_bytes_are_named_by_offset_and_line(
    home: Path, way: str, line: int, shop: str, byte: str, char: str
) -> None:
    rows = good_rows()
    rows[line - 2] = row(line - 2, shop=shop)
    data = lines_of(rows).encode("cp1252")
    put(home, data)
    msg = refused(
        home,
        pipeline(),
        rf"not UTF-8 text \(byte \d+, line {line}: 0x{byte} is not valid UTF-8, it is {char}",
    )
    assert f"byte {data.index(bytes.fromhex(byte))}," in msg


def test_a_utf8_bom_written_to_disk_is_accepted(home: Path, way: str) -> None:
    path = put(home, b"\xef\xbb\xbf" + lines_of(good_rows()).encode())
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    res, snap = accepted(home, pipeline())
    assert res.rows == 8 and snap["at"].notna().all() and next(iter(snap.columns)) == "at"


def test_a_header_in_another_encoding_is_refused_not_garbled(home: Path, way: str) -> None:
    put(home, ("\u00e0t,shop,amount,units,note,returned\n" + "\n".join(good_rows())).encode("latin-1"))
    refused(home, pipeline(), r"not UTF-8 text \(byte 0, line 1: 0xE0")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            lines_of([row(0), '2024-03-01T01:00:00Z,"nor"th,12.5,3,ok,false']),
            r"line 3: ',' expected after '\"' \(in the record that starts on line 3; a quoted value must end",
        ),
        (
            'at,"shop,amount,units,note,returned\n' + "\n".join(good_rows()) + "\n",
            r"line 1 \(the header\) is not CSV",
        ),
        ("\r".join([HEADER, *good_rows()]) + "\r", r"the lines end with a lone carriage return"),
    ],
    ids=["text-after-a-closing-quote", "header-quote-never-closes", "lone-carriage-returns"],
)
def test_malformed_quoting_and_line_ends_are_named(home: Path, way: str, text: str, pattern: str) -> None:
    put(home, text)
    refused(home, pipeline(), pattern)


@pytest.mark.parametrize(
    ("free_text", "pattern"),
    [
        (["units"], r"schema.*free_text: 'units' is declared int; only a string or category column"),
        (["at"], r"schema.*free_text: 'at' is declared datetime"),
        (["note", "note"], r"schema.*free_text: a column is listed twice"),
    ],
)
def test_free_text_must_name_text_columns(free_text: list[str], pattern: str) -> None:
    from airflow_mlops.core.foundation.errors import ConfigError

    with pytest.raises(ConfigError, match=pattern) as e:
        pipeline(free_text=free_text)
    assert "orders.yaml" in str(e.value)


def test_free_text_unset_keeps_the_config_hash_and_set_changes_it() -> None:
    from tests.unit.core.conftest import hash_before_later_fields

    plain = pipeline()
    assert plain.data_schema.free_text is None
    assert plain.config_hash == hash_before_later_fields(plain)
    assert pipeline(free_text=["note"]).config_hash != plain.config_hash
    assert pipeline(free_text=["comment"]).data_schema.free_text == ["comment"]  # an unkept column


def test_derive_and_row_filter_never_see_the_line_numbers(home: Path) -> None:
    """Frames carry each record's line as their index; pandas' eval and query see an index's name
    as a variable, so a derive or filter using a name like "line" or "row" still fails as before."""
    import yaml

    d = yaml.safe_load(PIPELINE.replace("FMT", "csv").replace("FREE", ""))
    d["schema"]["row_filter"] = "line > 3"
    put(home, lines_of(good_rows()))
    cfg = parse_pipeline(yaml.safe_dump(d), "orders.yaml")
    refused(home, cfg, r"schema.row_filter 'line > 3' failed")
