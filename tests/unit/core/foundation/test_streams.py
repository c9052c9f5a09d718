"""Overlapped reading and writing: order, errors where the caller meets them, nothing left open."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from airflow_mlops.core.foundation.streams import Behind, prefetch

pytestmark = pytest.mark.unit


def test_prefetch_keeps_order_and_reads_one_ahead_in_another_thread() -> None:
    made: list[tuple[int, str]] = []

    def produce() -> Iterator[int]:
        for i in range(5):
            made.append((i, threading.current_thread().name))
            yield i

    seen = []
    for item in prefetch(produce()):
        seen.append(item)
        assert len(made) <= item + 2  # never more than one item ahead of the caller
    assert seen == [0, 1, 2, 3, 4]
    assert all(name.startswith("prefetch") for _, name in made)


def test_prefetch_raises_the_producers_error_after_the_items_before_it() -> None:
    def produce() -> Iterator[int]:
        yield 1
        raise ValueError("bad block 2")

    seen = []
    with pytest.raises(ValueError, match="bad block 2"):
        for item in prefetch(produce()):
            seen.append(item)
    assert seen == [1]


def test_a_caller_that_stops_early_closes_the_producer() -> None:
    closed = threading.Event()

    def produce() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.set()

    items = prefetch(produce())
    assert next(items) == 0
    items.close()
    assert closed.is_set()


def test_behind_writes_everything_in_order_and_raises_a_failed_write() -> None:
    written: list[int] = []
    behind = Behind(written.append)
    for i in range(4):
        behind.put(i)
    behind.close()
    assert written == [0, 1, 2, 3]

    def fail(item: int) -> None:
        raise OSError(f"disk full at {item}")

    behind = Behind(fail)
    behind.put(7)
    with pytest.raises(OSError, match="disk full at 7"):
        behind.put(8)  # the next put meets the error of the write before it
    behind.close()
