"""Staging files: where half-built lake files live, named so that a later run can tell a dead
writer's leftovers from a live writer's work.

Names are ``tmp-<machine>-<pid>-<random>``: :func:`sweep` removes a file whose process is dead on
this machine, or older than :data:`MAX_AGE_SECONDS`, never one a live local process owns. Mode is
``0o666`` under the umask, like any file (``mkstemp``'s 0600 once made snapshots unreadable).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pyarrow as pa

PREFIX: Final = "tmp-"
#: A staging file older than this whose owner cannot be checked is a leftover: no write takes a day.
MAX_AGE_SECONDS: Final = 24 * 3600
_NAME = re.compile(r"^tmp-(?P<machine>[0-9a-f]{12})-(?P<pid>\d+)-[0-9a-f]+")


@cache
def machine_tag() -> str:
    """12 hex characters naming this kernel boot and PID namespace (the host name off Linux)."""
    from airflow_mlops.core.foundation.lock import machine

    return hashlib.sha256((machine() or socket.gethostname()).encode()).hexdigest()[:12]


def new_name(folder: str, suffix: str = "") -> str:
    """A fresh staging path in ``folder`` owned by this process (nothing is created)."""
    return f"{folder}/{PREFIX}{machine_tag()}-{os.getpid()}-{uuid.uuid4().hex[:16]}{suffix}"


def new_file(folder: str) -> str:
    """A new empty staging file in ``folder`` (created exclusively, mode 0o666 less the umask)."""
    os.makedirs(folder, exist_ok=True)
    path = new_name(folder)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    return path


def owner_alive(name: str) -> bool | None:
    """Whether the process that named ``name`` still runs: None when that cannot be known here
    (another machine, or a name without an owner)."""
    m = _NAME.match(name)
    if m is None or m["machine"] != machine_tag():
        return None
    pid = int(m["pid"])
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    return True


def sweep(folder: str, max_age: float = MAX_AGE_SECONDS) -> list[str]:
    """Remove the staging files in ``folder`` no live writer owns; returns their names."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    removed = []
    for name in names:
        if not name.startswith(PREFIX):
            continue
        path = os.path.join(folder, name)
        alive = owner_alive(name)
        try:
            if alive is False or (alive is None and time.time() - os.path.getmtime(path) > max_age):
                os.unlink(path)
                removed.append(name)
        except FileNotFoundError:  # its owner finished (renamed or removed it) meanwhile
            continue
    return removed


class ParquetSink:
    """A Parquet file built in staging for ``uri``; a failed write is a LakeWriteError naming ``uri``."""

    def __init__(self, tmp: str, schema: pa.Schema, uri: str) -> None:
        import pyarrow.parquet as pq

        self.uri = uri
        with self._named():
            self._writer = pq.ParquetWriter(tmp, schema, compression="zstd")

    @property
    def schema(self) -> pa.Schema:
        return self._writer.schema

    def write_table(self, table: pa.Table) -> None:
        with self._named():
            self._writer.write_table(table)

    def close(self) -> None:
        with self._named():
            self._writer.close()

    @contextmanager
    def _named(self) -> Iterator[None]:
        try:
            yield
        except OSError as e:
            from airflow_mlops.core.foundation.lake import write_failed

            raise write_failed(self.uri, e) from e
