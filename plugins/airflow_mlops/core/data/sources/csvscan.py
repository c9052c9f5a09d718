"""Every physical record of a CSV file accounted for, in one streaming pass, before any reader is
trusted with it.

By CSV's rules a quote opening in one field and closing 200 lines later is one valid value, and
readers differ on a row a field short (pandas pads it, pyarrow refuses it): here each record is
counted against the header, so what a reader returns can be checked row for row. Refused, with
the line: a column named twice, a record of another width, a value with line breaks outside
``schema.free_text`` or holding whole records, a file cut mid-record, text that is not UTF-8.
Blocks without a quote are counted with numpy; only blocks with quotes go through ``csv``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

from airflow_mlops.core.data.sources import textscan
from airflow_mlops.core.foundation.errors import DataContractError

if TYPE_CHECKING:
    import numpy as np

_BREAK = re.compile(r"\r\n|\r|\n")


def header_names(header: bytes, where: str, *, show: bool = True) -> list[str]:
    """The names of a CSV header line (without a UTF-8 BOM), refusing another encoding and a name
    given twice."""
    skip = textscan.sniff(header, where)
    textscan.check_utf8(header, where, 0, 1, show=show)
    text = header[skip:].decode("utf-8").rstrip("\r\n")
    if "\r" in text:  # the header line is read up to its \n: the file's lines end in a lone \r
        raise DataContractError(
            f"{where}: the lines end with a lone carriage return (\\r, classic Mac OS): save the file "
            "with \\n or \\r\\n line ends"
        )
    try:
        names = next(csv.reader([text], strict=True), [])
    except csv.Error as e:
        raise DataContractError(f"{where}: line 1 (the header) is not CSV: {e}") from e
    unique_names(names, where, "the header")
    return names


def unique_names(names: list[str], where: str, place: str = "the file") -> None:
    """Refuse a column name given twice (a CSV header or a Parquet schema can), naming both
    positions (1-based): a reader would silently keep one of them."""
    first: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in first:
            raise DataContractError(
                f"{where}: column {name!r} appears twice in {place}, at positions {first[name]} "
                f"and {i}; a reader would keep one of them silently: rename or remove one"
            )
        first[name] = i


class CsvScan:
    """Fed the blocks after the header line (each ending at a line end), in order; :meth:`feed`
    returns the physical line of each record that ends in the block."""

    def __init__(
        self, header: bytes, where: str, free_text: Collection[str] = (), *, show: bool = True
    ) -> None:
        self.where, self.show = where, show
        self.names = header_names(header, where, show=show)
        self.width = len(self.names)
        self.free_text = frozenset(free_text)
        self.line = 2  # the header is the first line
        self.offset = len(header)
        self.carry: list[str] = []  # lines of a record that continues into the next block
        self.carry_line = 0

    def feed(self, block: bytes) -> tuple[np.ndarray, bool]:
        """The line of each record completed in ``block``, and whether one of them spans lines."""
        import numpy as np

        textscan.check_utf8(block, self.where, self.offset, self.line, show=self.show)
        final = not block.endswith((b"\n", b"\r"))  # only the file's last line lacks a break
        plain = not self.carry and b'"' not in block
        if plain and b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
            plain = False  # lone carriage returns end lines too: leave them to the csv module
        lines: np.ndarray | list[int]
        if plain:
            lines, multi = self._plain(block, final), False
            self.line += block.count(b"\n") + (1 if final else 0)
        else:
            lines, multi = self._quoted(block.decode("utf-8"), final)
        self.offset += len(block)
        return np.asarray(lines, dtype=np.int64), multi

    def finish(self) -> None:
        """End of the file: a quote still open there is a truncated file."""
        if self.carry:
            raise DataContractError(
                f"{self.where}: truncated: a quoted value opens in the record on line {self.carry_line} "
                "and the file ends before it closes (the file was cut, or a quote is stray)"
            )

    def _ragged(self, fields: int, line: str, truncated: bool) -> DataContractError:
        if truncated:
            return DataContractError(
                f"{self.where}: truncated: the last record ({line}) has {fields} of the header's "
                f"{self.width} fields and no line break after it (the file was cut mid-row)"
            )
        return DataContractError(
            f"{self.where}: {line} has {fields} field(s), the header has {self.width} (a missing or "
            "extra delimiter would shift values into neighbouring columns)"
        )

    def _plain(self, block: bytes, final: bool) -> np.ndarray:
        """Lines without quotes: a record per non-empty line, its fields one more than its commas."""
        import numpy as np

        arr = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10)
        if final:
            ends = np.append(ends, len(arr))
        starts = np.empty_like(ends)
        if len(ends):
            starts[0] = 0
            starts[1:] = ends[:-1] + 1
        length = ends - starts
        cr = np.zeros(len(ends), dtype=bool)
        nonempty = length > 0
        cr[nonempty] = arr[ends[nonempty] - 1] == 13
        blank = (length == 0) | ((length == 1) & cr)
        commas = np.flatnonzero(arr == 44)
        fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
        bad = ~blank & (fields != self.width)
        if bad.any():
            i = int(np.argmax(bad))
            truncated = final and i == len(ends) - 1 and int(fields[i]) < self.width
            raise self._ragged(int(fields[i]), f"line {self.line + i}", truncated)
        return self.line + np.flatnonzero(~blank)

    def _quoted(self, text: str, final: bool) -> tuple[list[int], bool]:
        """Lines with quotes, through the csv module (strict: a quote must close its field)."""
        pending: list[str] = []
        start = self.carry_line if self.carry else self.line
        carried = self.carry

        def source() -> Iterator[str]:
            for ln in carried:
                pending.append(ln)
                yield ln
            for ln in io.StringIO(text, newline=""):
                pending.append(ln)
                self.line += 1
                yield ln

        self.carry = []
        lines: list[int] = []
        multi = False
        reader = csv.reader(source(), strict=True)
        try:
            for row in reader:
                end = start + len(pending) - 1
                cut = final and not pending[-1].endswith(("\n", "\r"))
                if row:  # an empty line is no record, for every reader
                    multi |= end > start
                    self._check(row, start, end, cut)
                    lines.append(start)
                start = end + 1
                pending.clear()
        except csv.Error as e:
            if str(e) == "unexpected end of data":
                self.carry, self.carry_line = list(pending), start
                if not final:
                    return lines, multi
                self.finish()
            if str(e).startswith("field larger than field limit"):
                raise DataContractError(
                    f"{self.where}: a quoted value in the record on line {start} runs on for more than "
                    f"{csv.field_size_limit()} characters (to line {start + len(pending) - 1}) without "
                    "closing: a stray quote, or a file cut short"
                ) from e
            raise DataContractError(
                f"{self.where}: line {start + max(len(pending), 1) - 1}: {e} (in the record that "
                f"starts on line {start}; a quoted value must end where its field ends)"
            ) from e
        return lines, multi

    def _check(self, row: list[str], start: int, end: int, cut: bool) -> None:
        if end > start:
            self._multiline(row, start)
        if len(row) != self.width:
            where = f"line {start}" if end == start else f"the record on lines {start}-{end}"
            raise self._ragged(len(row), where, cut and len(row) < self.width)

    def _multiline(self, row: list[str], start: int) -> None:
        """A value with line breaks: refused outside ``schema.free_text``, and anywhere when its
        lines parse as whole records of the header's width (a stray quote swallowed rows)."""
        opened = start
        for i, value in enumerate(row):
            n = len(_BREAK.findall(value))
            if not n:
                continue
            name = self.names[i] if i < self.width else f"field {i + 1} (beyond the header)"
            span = f"opening on line {opened} and closing on line {opened + n}"
            if name not in self.free_text:
                raise DataContractError(
                    f"{self.where}: column {name!r} has a value with line breaks, {span}; only the "
                    "columns in schema.free_text may hold line breaks (a stray quote merges rows)"
                )
            parts = _BREAK.split(value)
            whole = [k for k, part in enumerate(parts[1:-1], start=1) if self._fields(part) == self.width]
            if whole:
                raise DataContractError(
                    f"{self.where}: the value of free-text column {name!r} {span} holds whole records "
                    f"of the header's {self.width} fields (line {opened + whole[0]} first): a stray "
                    "quote merged rows into it"
                )
            head, tail = self._fields(parts[0]), self._fields(parts[-1])
            if self.width >= 4 and head and tail and head + tail == self.width + 1:
                raise DataContractError(
                    f"{self.where}: the value of free-text column {name!r} {span} holds the end of one "
                    f"record and the start of the next ({head} + {tail} fields, the header's "
                    f"{self.width} and the one they share): a stray quote merged rows into it"
                )
            opened += n

    def _fields(self, part: str) -> int:
        """Fields of one line of a value, read as CSV; 0 when too few columns to tell (with two,
        any text with a comma would look like a record)."""
        if self.width < 3 or not part:
            return 0
        return len(next(csv.reader([part]), []))
