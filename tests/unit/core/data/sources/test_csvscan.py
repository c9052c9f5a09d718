"""Issue 21, section 2, CSV: a value with line breaks, a duplicated column, a ragged row, a truncated
file and malformed quoting are refused naming the line and column on every reader path (forced by
``way``), and nothing is snapshotted; the quarantine keeps the file and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.core.data.sources.conftest import (
    HEADER,
    accepted,
    good_rows,
    lines_of,
    pipeline,
    put,
    refused,
    row,
)

pytestmark = pytest.mark.unit


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
