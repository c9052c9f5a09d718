"""Every line of a JSON Lines file accounted for, in one streaming pass, before a reader is trusted.

pyarrow fills a key a record lacks with null, and ``json`` keeps the last of two equal keys: here
each line must be one JSON object with the first record's keys, none twice. A last line cut short
is "truncated"; numbers past their type are left to :mod:`coerce`.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from airflow_mlops.core.data.sources import textscan
from airflow_mlops.core.foundation.errors import DataContractError

if TYPE_CHECKING:
    import numpy as np

#: Where a key can end: a line has at least as many matches as keys (more: the exact check).
_KEY_END = re.compile(r'"\s*:')


class _Duplicate(ValueError):
    def __init__(self, key: str, first: int, second: int) -> None:
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, int] = {}
    for i, (key, _) in enumerate(pairs, start=1):
        if key in seen:
            raise _Duplicate(key, seen[key], i)
        seen[key] = i
    return dict(pairs)


class JsonlScan:
    """Fed a JSON Lines file's blocks (each ending at a line end) in order; :meth:`feed` returns
    the line of each record in the block."""

    def __init__(self, where: str, *, show: bool = True) -> None:
        self.where, self.show = where, show
        self.keys: set[str] | None = None
        self.keys_line = 0
        self.line, self.offset = 1, 0

    def feed(self, block: bytes) -> np.ndarray:
        import numpy as np

        skip = textscan.sniff(block, self.where) if self.offset == 0 else 0
        textscan.check_utf8(block, self.where, self.offset, self.line, show=self.show)
        final = not block.endswith(b"\n")
        parts = block[skip:].decode("utf-8").split("\n")
        if not final:
            parts.pop()  # the empty text after the last line break
        lines: list[int] = []
        for k, raw in enumerate(parts):
            text = raw.strip()
            if text:
                self._record(text, self.line + k, final and k == len(parts) - 1)
                lines.append(self.line + k)
        self.line += len(parts)
        self.offset += len(block)
        return np.asarray(lines, dtype=np.int64)

    def _record(self, text: str, line: int, last: bool) -> None:
        where = f"{self.where}: line {line}"
        try:
            obj = json.loads(text)  # the C parser; the pairs hook only where a key may repeat
            if isinstance(obj, dict) and len(_KEY_END.findall(text)) > len(obj):
                json.loads(text, object_pairs_hook=_pairs)
        except _Duplicate as e:
            raise DataContractError(
                f"{where} gives key {e.key!r} twice (keys {e.first} and {e.second} of its object); "
                "a reader would keep one of them silently"
            ) from e
        except json.JSONDecodeError as e:
            if last:
                raise DataContractError(
                    f"{where}: truncated: the last line is not whole JSON ({e.msg}) and has no line "
                    "break after it (the file was cut mid-record)"
                ) from e
            shown = f": {text[:40]!r}" if self.show else ""
            raise DataContractError(f"{where} is not JSON ({e.msg}{shown})") from e
        except ValueError as e:  # a number of more than 4,300 digits
            raise DataContractError(f"{where} is not JSON this reader takes ({e})") from e
        if not isinstance(obj, dict):
            raise DataContractError(f"{where} is a JSON {type(obj).__name__}, not one object")
        if self.keys is None:
            self.keys, self.keys_line = set(obj), line
        elif obj.keys() != self.keys:
            missing, extra = sorted(self.keys - obj.keys()), sorted(obj.keys() - self.keys)
            raise DataContractError(
                f"{where} has other keys than the first record (line {self.keys_line}): "
                f"missing {missing}, extra {extra}; every record must carry the same keys "
                "(write null for a missing value)"
            )
