"""A stage's result is a frozen dataclass whose dict is what its task pushes to XCom."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from airflow_mlops.core.foundation.result import Result

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Example(Result):
    ds: str
    rows: int
    nested: tuple[str, ...] = ()


def test_a_result_is_frozen_and_pushes_as_a_plain_dict() -> None:
    r = Example("2013-01-02", 7, ("a",))
    assert r.to_dict() == {"ds": "2013-01-02", "rows": 7, "nested": ("a",)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.rows = 8  # type: ignore[misc]
