"""Issue 21, section 2: text that is not UTF-8 is named (the encoding, or the byte by offset and
line) on every reader path, never garbled; a UTF-8 BOM is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.core.data.sources.conftest import (
    accepted,
    good_rows,
    lines_of,
    pipeline,
    put,
    refused,
    row,
)

pytestmark = pytest.mark.unit


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
