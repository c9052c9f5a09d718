"""The suite's margins: ranges widened by half the observed range, sets and empty shares from the sample."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.data import scaffold
from tests.unit.core.data.scaffold.conftest import expectations, sample, written

pytestmark = pytest.mark.unit


def test_ranges_widen_by_half_the_observed_range_and_sets_take_the_sample(home: Path) -> None:
    df = pd.DataFrame(
        {
            "qty": [10, 30, 20, 25] * 10,
            "temp": [-1.5, 2.5, 0.5, 1.0] * 10,
            "level": [7, 7, 7, 7] * 10,
            "shop": ["north", "south", "north", None] * 10,
            "y": [0, 1, 1, 0] * 10,
        }
    )
    path = sample(home, "m", df)
    sc, _, suite_path = written(home, "m", path, "y")
    assert sc.left_out == {"level": "one value in all 40 sample rows: nothing to learn from"}
    qty = expectations(suite_path, "qty")
    assert qty["expect_column_values_to_be_between"] == {"column": "qty", "min_value": 0, "max_value": 40}
    assert qty["expect_column_values_to_be_of_type"] == {"column": "qty", "type_": "int64"}
    assert qty["expect_column_values_to_not_be_null"] == {"column": "qty"}
    temp = expectations(suite_path, "temp")["expect_column_values_to_be_between"]
    assert (temp["min_value"], temp["max_value"]) == (-3.5, 4.5)
    # Not modelled: its presence, type and empties only (an identifier's range moves every batch).
    assert "expect_column_values_to_be_between" not in expectations(suite_path, "level")
    shop = expectations(suite_path, "shop")
    assert shop["expect_column_values_to_be_in_set"] == {
        "column": "shop",
        "value_set": ["north", "south"],
        "mostly": scaffold.CATEGORY_MOSTLY,
    }
    # A quarter of the sample was empty: up to half may be.
    assert shop["expect_column_values_to_not_be_null"] == {"column": "shop", "mostly": 0.5}
    assert shop["expect_column_values_to_be_of_type"]["type_"] == "str"
    target = expectations(suite_path, "y")
    assert target["expect_column_values_to_be_in_set"] == {"column": "y", "value_set": [0, 1]}, "strict"
    suite = json.loads(suite_path.read_text())
    rows = [e for e in suite["expectations"] if e["type"] == "expect_table_row_count_to_be_between"]
    assert rows[0]["kwargs"] == {"min_value": 1}, "a lower bound and no upper bound"
    columns = next(e for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set")
    assert columns["kwargs"] == {"column_set": ["qty", "temp", "level", "shop", "y"], "exact_match": True}


def test_a_constant_feature_range_is_widened_by_half_its_value(home: Path) -> None:
    df = pd.DataFrame({"x": [4.0] * 6 + [4.0, 8.0], "y": [1.0, 2.0] * 4})
    _, _, suite_path = written(home, "c", sample(home, "c", df), "y")
    between = expectations(suite_path, "x")["expect_column_values_to_be_between"]
    assert (between["min_value"], between["max_value"]) == (2.0, 10.0)
    # The target: 1..2, widened by 0.5 either side.
    y = expectations(suite_path, "y")["expect_column_values_to_be_between"]
    assert (y["min_value"], y["max_value"]) == (0.5, 2.5)
