"""Waiting for an event instead of a number of seconds.

A fault test kills a process when the event it targets has happened (the task is running, the run
is in MLflow), and a test that waits for a server waits until it answers. ``wait_for`` polls a
predicate until it returns something truthy; on timeout it fails naming what was awaited, the last
value seen and the last exception the predicate raised (chained), so nothing is swallowed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """What was awaited did not happen in time (an AssertionError, so pytest reports a failure)."""


def wait_for(
    predicate: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.5,
    expected: tuple[type[BaseException], ...] = (),
    context: Callable[[], str] | None = None,
) -> T:
    """Call ``predicate`` until its result is truthy, and return that result.

    ``expected``: exceptions that mean "not yet" (a server still starting); they are recorded and
    the last one is chained to the timeout error. Any other exception propagates at once.
    ``context``: called on timeout for more to show (service logs).
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    error: BaseException | None = None
    while True:
        try:
            last = predicate()
            error = None
        except expected as e:
            error = e
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    seen = f"last error {type(error).__name__}: {error}" if error is not None else f"last value {last!r}"
    message = f"{what}: not after {timeout:.0f} s ({seen})"
    if context is not None:
        message += f"\n{context()}"
    raise WaitTimeout(message) from error
