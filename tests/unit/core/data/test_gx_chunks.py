"""Which suites can be validated chunk by chunk, and the repeated rows counted across chunks."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_mlops.core.data.gx_chunks import compound_columns, duplicated_rows, splittable

pytestmark = pytest.mark.unit

NOT_NULL = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}
UNIQUE = {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "a"}}
COMPOUND = {
    "type": "expect_compound_columns_to_be_unique",
    "kwargs": {"column_list": ["a", "b"], "ignore_row_if": "never"},
}


def test_row_wise_and_mergeable_expectations_split_cross_row_ones_do_not() -> None:
    count = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}
    assert splittable([NOT_NULL, count, COMPOUND])
    assert not splittable([NOT_NULL, UNIQUE]), "uniqueness needs every row at once"
    lenient = {**COMPOUND, "kwargs": {"column_list": ["a", "b"]}}
    assert not splittable([lenient]), "rows skipped by GX's default ignore_row_if cannot be hashed"
    assert not splittable([{"type": "expect_no_such_thing", "kwargs": {}}])


def test_compound_columns_are_listed_once_and_repeats_counted_across_chunks() -> None:
    assert compound_columns([COMPOUND, COMPOUND, NOT_NULL]) == [("a", "b")]
    chunks = [np.array([1, 2, 3], dtype="uint64"), np.array([3, 4, 1, 1], dtype="uint64")]
    assert duplicated_rows(chunks) == 5  # three rows of hash 1 and two of hash 3
    assert duplicated_rows([]) == 0
