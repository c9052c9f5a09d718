"""The pipeline file: built as the config model, dumped by YAML, read back the same."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import yaml

from airflow_mlops.core.data import scaffold
from airflow_mlops.core.data.scaffold.pipeline_file import read_back
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.errors import ConfigError
from tests.unit.core.data.scaffold.conftest import mixed, sample, written

pytestmark = pytest.mark.unit


def test_column_names_yaml_would_misread_are_quoted(home: Path) -> None:
    """`yes` and `on` are booleans to YAML 1.1 and `a b: c` is no key: the written file must
    still name each column exactly."""
    df = pd.DataFrame({"on": [1.5, 2.5] * 10, "a b: c": ["u", "v"] * 10, "yes": [0.5, 1.0] * 10})
    _, yaml_path, _ = written(home, "odd", sample(home, "odd", df), "yes")
    raw = yaml.safe_load(yaml_path.read_text())
    assert list(raw["schema"]["columns"]) == ["on", "a b: c", "yes"]
    cfg = load_pipeline(yaml_path)
    assert cfg.data_schema.target == "yes" and cfg.features.all == ["on", "a b: c"]


def test_the_file_reads_back_as_the_model_it_was_dumped_from(home: Path) -> None:
    """Every field the scaffold decides comes from the config model, and YAML gives it back."""
    sc = scaffold.plan("shop", sample(home, "shop", mixed()), "label", time_column="at")
    text = scaffold.pipeline_yaml(sc)
    cfg = scaffold.pipeline_config(sc)
    assert PipelineConfig.model_validate(yaml.safe_load(text)) == cfg
    assert cfg.data_schema.time_column == "at" and "No time_column" not in text
    assert "    at:       datetime  # the time column" in text
    assert "  # REVIEW: a floor a first model must clear (ranks better than chance" in text


def test_a_line_break_in_a_file_name_stays_inside_its_comment(home: Path) -> None:
    sc = scaffold.plan("shop", sample(home, "shop", mixed()), "label")
    odd = dataclasses.replace(sc, sample=Path("x\nname: other\n.csv"))
    text = scaffold.pipeline_yaml(odd)
    assert yaml.safe_load(text)["name"] == "shop"
    assert "# shop: written by `airflow-mlops init` from x name: other .csv (60 rows)." in text


def test_a_column_name_too_long_for_one_line_is_written_as_yaml_writes_it(home: Path) -> None:
    long = "a_rather_long_measurement_name_" * 6
    df = pd.DataFrame({long: [1.5, 2.5] * 10, "y": [0.5, 1.0] * 10})
    _, yaml_path, _ = written(home, "long", sample(home, "long", df), "y")
    assert load_pipeline(yaml_path).features.numeric == [long]


def test_a_file_that_reads_back_different_is_refused_naming_the_field(home: Path) -> None:
    sc = scaffold.plan("shop", sample(home, "shop", mixed()), "label")
    text = scaffold.pipeline_yaml(sc)
    cfg = scaffold.pipeline_config(sc)
    with pytest.raises(ConfigError, match=r"shop\.yaml: the file init wrote reads back different in gate"):
        read_back(text.replace("minimum: 0.6", "minimum: 0.7"), cfg, "shop.yaml")
    with pytest.raises(ConfigError, match=r"(?s)shop\.yaml: gate\.minimum: .*does not read back"):
        read_back(text.replace("minimum: 0.6", "minimum: high"), cfg, "shop.yaml")


def test_a_decision_the_schema_refuses_is_named_before_anything_is_dumped(home: Path) -> None:
    sc = scaffold.plan("shop", sample(home, "shop", mixed()), "label")
    with pytest.raises(ConfigError, match=r"^shop\.yaml: metrics: 'r2' is a regression metric"):
        scaffold.pipeline_config(dataclasses.replace(sc, metrics=["r2"]))
