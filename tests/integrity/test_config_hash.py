"""The config hash of an existing pipeline never changes because the schema grew.

A model version records the hash of the config that made it, and "nothing new to train on" compares
it. These literals are the shipped pipelines' hashes as models were registered with them (recorded
at b9d5315, with the raw root fixed so that the hash does not depend on where the checkout is). A
new field must be listed in ``LATER_FIELDS`` (and default to None) to keep them.
"""

from __future__ import annotations

import pytest

from airflow_mlops.core.foundation.config import LATER_FIELDS, PipelineConfig, load_pipeline
from tests.conftest import PIPELINES

RECORDED = {
    "credit_default": "bb2bc0fbb05a541f",
    "diabetes_progression": "3d714a1cc127f5a7",
    "flights_delay": "4a041ea669f9451a",
}


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(RECORDED))
def test_a_shipped_pipeline_keeps_the_hash_its_models_were_registered_with(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_MLOPS_RAW_ROOT", "file:///golden/raw")
    monkeypatch.delenv("AIRFLOW_MLOPS_SOURCE_ROOTS", raising=False)
    assert load_pipeline(PIPELINES / f"{name}.yaml").config_hash == RECORDED[name]


@pytest.mark.unit
def test_every_later_field_is_a_field_that_defaults_to_none() -> None:
    for path in LATER_FIELDS:
        model: type = PipelineConfig
        *parents, leaf = path.split(".")
        for part in parents:
            field = next(f for n, f in model.model_fields.items() if part in (n, f.alias))
            model = field.annotation  # type: ignore[assignment]
        field = next(f for n, f in model.model_fields.items() if leaf in (n, f.alias))
        assert field.default is None, f"{path} must default to None to leave existing hashes alone"
