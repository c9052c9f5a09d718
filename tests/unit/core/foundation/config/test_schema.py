"""The schema section: derived columns are declared, and PII rules name the column and the rule they break."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_mlops.core.foundation.config import (
    load_pipeline,
    parse_pipeline,
)
from tests.unit.core.foundation.config.pipelines import FLIGHTS, bad, flights

pytestmark = pytest.mark.unit


def test_derived_column_must_be_declared(tmp_path: Path) -> None:
    d = flights()
    d["schema"]["derive"]["very_late"] = "arr_delay > 60"
    assert "schema: derive: 'very_late' must also be declared in columns" in bad(d, tmp_path)


@pytest.mark.parametrize(
    ("pii", "expected"),
    [
        (
            {"dep_delay": "hash"},
            "schema.pii: 'dep_delay' is hashed, so its type in schema.columns must be string or category",
        ),
        ({"late": "hash"}, "schema.pii: 'late' is the target; it cannot be hashed"),
        ({"time_hour": "hash"}, "schema.pii: 'time_hour' is the time_column; it cannot be hashed"),
        ({"email": "hash"}, "schema.pii: 'email' is hashed, so it must be declared in schema.columns"),
        (
            {"carrier": "drop"},
            "schema.pii: 'carrier' is dropped, so it must not be declared in schema.columns",
        ),
        ({"carrier": "mask"}, "schema.pii.carrier: Input should be 'hash' or 'drop'"),
    ],
)
def test_pii_errors_name_the_field(tmp_path: Path, pii: dict[str, str], expected: str) -> None:
    d = flights()
    d["schema"]["pii"] = pii
    assert f"flights_delay.yaml: {expected}" in bad(d, tmp_path)


def test_pii_hash_of_a_derived_column_is_refused(tmp_path: Path) -> None:
    d = flights()
    d["schema"]["columns"]["route"] = "string"
    d["schema"]["derive"]["route"] = "origin + dest"
    d["schema"]["pii"] = {"route": "hash"}
    assert "schema.pii: 'route' is derived (schema.derive), not read from the raw file" in bad(d, tmp_path)


def test_pii_hashed_column_may_be_a_categorical_feature_and_drift_column(home: Path) -> None:
    d = flights()
    d["schema"]["pii"] = {"carrier": "hash", "passport_no": "drop"}
    cfg = parse_pipeline(yaml.safe_dump(d), "flights_delay.yaml")
    s = cfg.data_schema
    assert s.pii_hashed == ["carrier"] and s.has_pii and s.pii_key_variable == "airflow_mlops_pii_key"
    assert "carrier" in cfg.features.categorical and "carrier" in cfg.drift_columns
    assert "passport_no" not in cfg.raw_columns
    assert not load_pipeline(FLIGHTS).data_schema.has_pii
