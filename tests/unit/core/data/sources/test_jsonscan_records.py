"""Issue 21, section 2, for JSON Lines and Parquet: a line that is not one object, a record with
missing or extra keys, a key given twice, a truncated last line, numbers past their type and
another encoding are refused naming the line, on pyarrow's reader and on pandas' whole-file read;
a Parquet file with a column twice or a number past its type is refused naming the row."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_mlops.core.data.sources import rawfile
from tests.unit.core.data.sources.conftest import DAY, accepted, force_path, pipeline, put, refused

pytestmark = pytest.mark.unit


def record(hour: int, **change: object) -> dict[str, object]:
    base: dict[str, object] = {
        "at": f"2024-03-01T{hour:02d}:00:00Z",
        "shop": ("north", "south")[hour % 2],
        "amount": 12.5,
        "units": hour,
        "note": "ok",
        "returned": False,
    }
    return base | change


def jsonl(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def good_lines(n: int = 8) -> list[str]:
    return [json.dumps(record(h)) for h in range(n)]


@pytest.fixture(params=["pyarrow", "whole", "tiny-blocks"])
def jway(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return force_path(str(request.param), monkeypatch)


@pytest.mark.parametrize(
    ("line", "text", "pattern"),
    [
        (3, "[1, 2, 3]", r"line 3 is a JSON list, not one object"),
        (5, '"just a string"', r"line 5 is a JSON str, not one object"),
        (4, '{"at": "2024-03-01T03:00:00Z", "shop": "north"', r"line 4 is not JSON \(Expecting"),
        (6, json.dumps(record(5)) + json.dumps(record(6)), r"line 6 is not JSON \(Extra data"),
        (2, json.dumps({k: v for k, v in record(1).items() if k != "units"}), r"line 2 has other keys .* missing \['units'\], extra \[\]"),
        (7, json.dumps(record(6, coupon="X1")), r"line 7 has other keys .* missing \[\], extra \['coupon'\]"),
        (3, '{"at": "2024-03-01T02:00:00Z", "shop": "north", "amount": 1.0, "units": 2, "note": "a", '
            '"units": 9, "returned": false}', r"line 3 gives key 'units' twice \(keys 4 and 6 of its object\)"),
        (8, json.dumps(record(7, units=2**63)), r"column 'units' \(int\) has value\(s\) outside int64's range .*: 9223372036854775808 \(line 8\)"),
        (2, json.dumps(record(1, units=-(2**63) - 1)), r"column 'units' \(int\) has value\(s\) outside int64's range .*: -9223372036854775809 \(line 2\)"),
        (4, json.dumps(record(3, units=1e20)), r"column 'units' \(int\) has value\(s\) outside int64's range .*: 1e\+20 \(line 4\)"),
        (5, json.dumps(record(4)).replace('"amount": 12.5', '"amount": 1e999'), r"column 'amount' \(float\) has value\(s\) outside float64's finite range: inf \(line 5\)"),
        (6, json.dumps(record(5)).replace('"amount": 12.5', '"amount": -Infinity'), r"column 'amount' \(float\) has value\(s\) outside float64's finite range: -inf \(line 6\)"),
    ],
    ids=["list", "string", "broken", "two-objects", "missing-key", "extra-key", "duplicate-key",
         "int-past-max", "int-past-min", "float-in-int-past-max", "float-1e999", "float-minus-infinity"],
)  # fmt: skip
def test_a_bad_json_line_is_refused_naming_its_line(
    home: Path, jway: str, line: int, text: str, pattern: str
) -> None:
    lines = good_lines()
    lines[line - 1] = text
    put(home, jsonl(lines), "jsonl")
    refused(home, pipeline("jsonl"), pattern)


@pytest.mark.parametrize(
    "tail",
    ['{"at": "2024-03-01T09:00:00Z", "shop": "nor', '{"at": "2024-03-01T09:00:00Z"', "{"],
)
def test_a_cut_last_json_line_is_refused_as_truncated(home: Path, jway: str, tail: str) -> None:
    put(home, jsonl(good_lines()) + tail, "jsonl")
    refused(home, pipeline("jsonl"), r"line 9: truncated: the last line is not whole JSON")


@pytest.mark.parametrize(
    ("encoding", "name"), [("utf-16", "UTF-16 LE"), ("utf-16-be", "UTF-16 BE"), ("utf-32", "UTF-32 LE")]
)
def test_json_lines_in_a_wide_encoding_are_named(home: Path, jway: str, encoding: str, name: str) -> None:
    put(home, jsonl(good_lines()).encode(encoding), "jsonl")
    refused(home, pipeline("jsonl"), rf"the file is {name}, not UTF-8")


def test_json_lines_with_a_bom_blank_lines_and_no_last_break_are_fine(home: Path, jway: str) -> None:
    lines = good_lines(5)
    put(home, b"\xef\xbb\xbf" + ("\n".join([*lines[:2], "", *lines[2:]])).encode(), "jsonl")
    res, snap = accepted(home, pipeline("jsonl"))
    assert res.rows == 5 and snap["units"].tolist() == [0, 1, 2, 3, 4]


def _parquet(home: Path, table: pa.Table) -> None:
    path = home / "raw" / "orders" / f"{DAY}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _table(**columns: pa.Array) -> pa.Table:
    n = 6
    base = {
        "at": pa.array([f"2024-03-01T{h:02d}:00:00Z" for h in range(n)]),
        "shop": pa.array(["north", "south"] * 3),
        "amount": pa.array([12.5] * n),
        "units": pa.array(list(range(n)), pa.int64()),
        "note": pa.array(["ok"] * n),
        "returned": pa.array([False] * n),
    }
    return pa.table(base | columns)


@pytest.mark.parametrize("whole", [False, True], ids=["batches", "whole"])
@pytest.mark.parametrize(
    ("table", "pattern"),
    [
        (
            _table().append_column("units", pa.array([1] * 6)),
            r"column 'units' appears twice in the file, at positions 4 and 7",
        ),
        (
            _table().append_column("extra", pa.array([1] * 6)).append_column("extra", pa.array([2] * 6)),
            r"column 'extra' appears twice in the file, at positions 7 and 8",
        ),
        (
            _table(units=pa.array([1, 2, 2**63, 4, 5, 6], pa.uint64())),
            r"column 'units' \(int\) has value\(s\) outside int64's range .*: 9223372036854775808 \(row 3\)",
        ),
        (
            _table(units=pa.array([1, None, 2, 4, 2**64 - 1, 6], pa.uint64())),
            r"column 'units' \(int\) has value\(s\) outside int64's range .*\(row 5\)",
        ),
        (
            _table(amount=pa.array([1.0, 2.0, 3.0, 4.0, 5.0, float("inf")])),
            r"column 'amount' \(float\) has value\(s\) outside float64's finite range: inf \(row 6\)",
        ),
    ],
    ids=["declared-twice", "undeclared-twice", "uint64-past-int64", "uint64-max-with-null", "infinity"],
)
def test_a_bad_parquet_file_is_refused_naming_the_column_and_row(
    home: Path, monkeypatch: pytest.MonkeyPatch, table: pa.Table, pattern: str, whole: bool
) -> None:
    if whole:
        monkeypatch.setattr(
            rawfile, "frames", lambda *a, **k: (_ for _ in ()).throw(pa.ArrowInvalid("forced"))
        )
    _parquet(home, table)
    refused(home, pipeline("parquet"), pattern)
