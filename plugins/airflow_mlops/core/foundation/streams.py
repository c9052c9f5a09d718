"""Reading, work and writing of a stream of blocks, overlapped on two threads each at most one
block ahead: pyarrow's CSV parser and Parquet writer release the GIL, so while the task's thread
types and hashes one block, the next is parsed and the previous one compressed. Memory stays a
few blocks, whatever the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")
_END = object()


def prefetch(items: Iterator[T]) -> Generator[T, None, None]:
    """``items``, each produced in a worker thread while the caller works on the one before; the
    producer's errors are raised here, and stopping early closes it."""
    with ThreadPoolExecutor(1, thread_name_prefix="prefetch") as pool:
        pending = pool.submit(next, items, _END)
        try:
            while (item := pending.result()) is not _END:
                pending = pool.submit(next, items, _END)
                yield item  # type: ignore[misc]
        finally:
            if not pending.cancel():
                wait([pending])  # a generator is not re-entrant: its step ends before it is closed
            close = getattr(items, "close", None)
            if close is not None:
                close()


class Behind:
    """Calls ``write`` on each item in a worker thread, one item behind the caller; ``wait``
    returns when everything is written (and raises what a write raised)."""

    def __init__(self, write: Callable[[Any], object]) -> None:
        self._write = write
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="behind")
        self._pending: Future[object] | None = None

    def put(self, item: Any) -> None:
        self.wait()  # at most one item in flight: memory stays bounded
        self._pending = self._pool.submit(self._write, item)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the last write, then stop the thread (also after an error of the caller)."""
        try:
            self.wait()
        finally:
            self._pool.shutdown()
