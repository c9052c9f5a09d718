"""What every config section shares: strictness, no NaN, frozen values, and the later fields."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.config.base import LATER_FIELDS, PIPELINE_NAME, Strict

pytestmark = pytest.mark.unit


class Example(Strict):
    value: float
    name: str = "x"


def test_a_strict_model_refuses_unknown_fields_and_not_finite_numbers() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Example.model_validate({"value": 1.0, "valeu": 2.0})
    with pytest.raises(ValidationError, match="finite number"):
        Example.model_validate({"value": math.nan})
    with pytest.raises(ValidationError, match="frozen"):
        Example(value=1.0).value = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "ok"), [("flights_delay", True), ("a", True), ("Flights", False), ("1x", False), ("a-b", False)]
)
def test_a_pipeline_name_is_safe_in_dag_ids_models_and_paths(name: str, ok: bool) -> None:
    assert bool(PIPELINE_NAME.fullmatch(name)) is ok


def test_every_later_field_names_a_section_of_the_pipeline() -> None:
    sections = {f.alias or name for name, f in PipelineConfig.model_fields.items()}
    assert {path.split(".")[0] for path in LATER_FIELDS} <= sections
