"""Expectation suite files: the shipped ones load whole into GX; broken ones name the file and problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_mlops.core.data.suite import load_suite, suite_path
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.errors import ConfigError
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

PIPELINES = ROOT / "include" / "pipelines"
EXPECTATIONS = ROOT / "include" / "expectations"


def _n_expectations(path: Path) -> int:
    return len(json.loads(path.read_text())["expectations"])


@pytest.mark.parametrize("pipeline", ["flights_delay", "diabetes_progression"])
def test_shipped_suites_load_whole_into_gx(pipeline: str) -> None:
    import great_expectations as gx

    cfg_path = PIPELINES / f"{pipeline}.yaml"
    suite_file = EXPECTATIONS / f"{pipeline}.json"
    assert load_pipeline(cfg_path).validation.suite == suite_file.name
    suite = load_suite(suite_file)
    # GX drops (and only logs) an expectation it cannot build: every one must survive.
    assert len(gx.ExpectationSuite(**suite).expectations) == _n_expectations(suite_file)


def test_suite_path_follows_the_expectations_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path
) -> None:
    cfg = load_pipeline(PIPELINES / "flights_delay.yaml")
    monkeypatch.setenv("AIRFLOW_MLOPS_EXPECTATIONS_DIR", str(tmp_path))
    assert suite_path(cfg) == tmp_path.resolve() / "flights_delay.json"


GOOD = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "late"}}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"name": "s", "expectations": [', "not valid JSON: line 1"),
        ("[]", "expected a JSON object"),
        (json.dumps({"name": "s", "expectation": [GOOD]}), "unknown field(s) ['expectation']"),
        (json.dumps({"name": "", "expectations": [GOOD]}), "name: a non-empty string"),
        (json.dumps({"name": "s", "expectations": []}), "expectations: a non-empty list"),
        (
            json.dumps(
                {"name": "s", "expectations": [GOOD, {**GOOD, "type": "expect_column_values_to_not_be_nul"}]}
            ),
            "expectations[1]: unknown expectation type 'expect_column_values_to_not_be_nul'; "
            "did you mean 'expect_column_values_to_not_be_null'?",
        ),
        (
            json.dumps({"name": "s", "expectations": [{"type": "expect_column_to_exist"}]}),
            "kwargs: an object",
        ),
        (json.dumps({"name": "s", "expectations": [{**GOOD, "kwarg": {}}]}), "unknown field(s) ['kwarg']"),
    ],
)
def test_broken_suite_files_name_the_file_and_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as e:
        load_suite(path)
    assert str(e.value).startswith(f"{path}: ")
    assert problem in str(e.value)


def test_missing_suite_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.json: expectation suite cannot be read"):
        load_suite(tmp_path / "missing.json")
