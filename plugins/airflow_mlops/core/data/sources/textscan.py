"""What every text reader (CSV, JSON Lines) checks before it trusts a byte: the encoding.

A file saved as UTF-16 or in a legacy code page decodes into garbled names or replaced characters;
here it is named ("UTF-16 LE, not UTF-8"), and a byte that is not UTF-8 by its offset and line.
Files are read in bounded blocks ending at a line end.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Final

from airflow_mlops.core.foundation.errors import DataContractError

#: Bytes read at a time: about 150,000 flights a block.
BLOCK_BYTES: Final = 16 << 20
UTF8_BOM: Final = b"\xef\xbb\xbf"

#: Byte order marks of the encodings a text file is refused in, longest first (UTF-32 LE starts
#: with UTF-16 LE's mark).
_BOMS: Final = (
    (b"\xff\xfe\x00\x00", "UTF-32 LE"), (b"\x00\x00\xfe\xff", "UTF-32 BE"),
    (b"\xff\xfe", "UTF-16 LE"), (b"\xfe\xff", "UTF-16 BE"),
)  # fmt: skip
#: Which of the first four bytes are zero in ASCII text of each wide encoding without a BOM.
_ZEROS: Final = {
    (False, True, True, True): "UTF-32 LE", (True, True, True, False): "UTF-32 BE",
    (False, True, False, True): "UTF-16 LE", (True, False, True, False): "UTF-16 BE",
}  # fmt: skip


def blocks(f: io.BufferedIOBase, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """The file in blocks of about ``size`` bytes, each ending at the end of a line (the last one
    may not, when the file does not end with a line break)."""
    while block := f.read(size):
        yield block + f.readline()


def sniff(head: bytes, where: str) -> int:
    """Refuse a file in a wide encoding, naming it; the number of bytes of a UTF-8 byte order mark
    to skip (0 or 3): a BOM is not part of the first column's name."""
    if head.startswith(UTF8_BOM):
        return len(UTF8_BOM)
    for bom, name in _BOMS:
        if head.startswith(bom):
            raise DataContractError(
                f"{where}: the file is {name}, not UTF-8 (it starts with the byte order mark "
                f"{bom.hex(' ').upper()}); save it as UTF-8"
            )
    wide = _ZEROS.get(tuple(b == 0 for b in head[:4]))  # type: ignore[arg-type]
    if wide is not None:
        raise DataContractError(
            f"{where}: the file is {wide}, not UTF-8 (zero bytes sit between the characters of its "
            "text); save it as UTF-8"
        )
    return 0


def check_utf8(block: bytes, where: str, offset: int, line: int, *, show: bool = True) -> None:
    """Refuse a block that is not UTF-8, naming the byte's offset and line (``offset`` and ``line``:
    where the block starts) and what it is in cp1252 (the usual culprit: a spreadsheet's export)."""
    if block.isascii():
        return
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as e:
        at = offset + e.start
        bad_line = line + block.count(b"\n", 0, e.start)
        byte = block[e.start]
        what = ""
        if show:  # a pii file's bytes stay out of messages, even one
            what = f": 0x{byte:02X} is not valid UTF-8"
            with contextlib.suppress(UnicodeDecodeError):  # 5 bytes are undefined in cp1252
                what += f", it is {bytes([byte]).decode('cp1252')!r} in Latin-1/cp1252"
        raise DataContractError(
            f"{where}: not UTF-8 text (byte {at}, line {bad_line}{what}); the file looks saved in "
            "another encoding (Latin-1/cp1252?): save it as UTF-8"
        ) from e
