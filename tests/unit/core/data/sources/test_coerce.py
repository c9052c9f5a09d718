"""Issue 21, section 2: a number or time outside what its type holds is refused naming column, line
and value on every reader path, never wrapped nor cast; the bounds themselves are kept exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.core.data.sources.conftest import accepted, good_rows, lines_of, pipeline, put, refused, row

pytestmark = pytest.mark.unit


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
