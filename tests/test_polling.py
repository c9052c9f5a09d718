"""The waiting helper of the fault tests: returns what the predicate found, fails naming what it
waited for, and never swallows an exception it was not told to expect."""

from __future__ import annotations

import pytest

from tests.polling import WaitTimeout, wait_for

pytestmark = pytest.mark.unit


def test_returns_the_first_truthy_result() -> None:
    seen = iter([None, 0, [], "found"])
    assert wait_for(lambda: next(seen), 5, "a value", interval=0.001) == "found"


def test_a_timeout_names_what_was_awaited_and_the_last_value() -> None:
    with pytest.raises(WaitTimeout, match=r"the run in MLflow: not after 0 s \(last value \[\]\)\nlogs here"):
        wait_for(list, 0.05, "the run in MLflow", interval=0.01, context=lambda: "logs here")


def test_an_expected_error_is_retried_and_chained_on_timeout() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("refused")
        return "up"

    assert wait_for(flaky, 5, "the server", interval=0.001, expected=(ConnectionError,)) == "up"

    def down() -> None:
        raise ConnectionError("still refused")

    with pytest.raises(WaitTimeout, match=r"last error ConnectionError: still refused") as e:
        wait_for(down, 0.05, "the server", interval=0.01, expected=(ConnectionError,))
    assert isinstance(e.value.__cause__, ConnectionError)


def test_an_unexpected_error_propagates_at_once() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise KeyError("typo")

    with pytest.raises(KeyError, match="typo"):
        wait_for(broken, 5, "anything", interval=0.001, expected=(ConnectionError,))
    assert len(calls) == 1
