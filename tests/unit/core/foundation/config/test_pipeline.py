"""A pipeline file as a whole: strict, named after its file, one bad file spoiling only itself, and a hash that follows the config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_mlops.core.foundation.config import (
    load_pipeline,
    load_pipelines,
    parse_pipeline,
)
from airflow_mlops.core.foundation.errors import ConfigError
from tests.unit.core.foundation.config.pipelines import FLIGHTS, PIPELINES, bad, flights

pytestmark = pytest.mark.unit


def test_shipped_pipelines_are_valid(home: Path) -> None:
    good, errors = load_pipelines(PIPELINES)
    assert errors == []
    assert {c.name for c in good} == {"flights_delay", "diabetes_progression", "credit_default"}
    f = next(c for c in good if c.name == "flights_delay")
    assert f.data_schema.task == "classification" and f.gate.higher_is_better
    assert f.source.for_interval("2013-07-04") == f"{(home / 'raw').as_uri()}/flights/2013-07-04.csv"
    assert f.drift_columns[0] == "dep_delay"


def test_unknown_key_is_rejected_with_its_path(tmp_path: Path) -> None:
    d = flights()
    d["gate"]["minimun"] = 0.7
    msg = bad(d, tmp_path)
    assert "flights_delay.yaml: gate.minimun: unknown field" in msg


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["features"]["numeric"].append("nope"), "features.numeric: 'nope' is not a column"),
        (lambda d: d["features"]["categorical"].append("late"), "the target 'late' cannot be a feature"),
        (lambda d: d["gate"].update(metric="rmse"), "'rmse' is a regression metric"),
        (
            lambda d: d["schema"].update(target="missing"),
            "target: 'missing' is not one of the declared columns",
        ),
        (
            lambda d: d["split"].update(test_fraction=1.5),
            "split.test_fraction: Input should be less than 0.9",
        ),
        (lambda d: d["source"].update(uri="/data/flights.csv"), "source.uri: must contain {ds}"),
        (
            lambda d: d["schedules"].update(ingest="every day"),
            "schedules.ingest: 'every day' has 2 field(s); a cron expression has 5",
        ),
        (lambda d: d["model"].update(estimator="not a path"), "model.estimator: must be an import path"),
        (
            lambda d: d["schema"]["columns"].update(dep_delay="decimal"),
            "schema.columns.dep_delay: Input should be",
        ),
        (lambda d: d.update(name="Flights-Delay"), "name: must be lower case"),
        (lambda d: d.update(name="../flights"), "name: must be lower case"),
        (lambda d: d["split"].update(seed=-1), "split.seed: Input should be greater than or equal to 0"),
        (
            lambda d: d["source"].update(uri="${AIRFLOW_MLOPS_RAW_ROOT}/../../etc/{ds}.csv"),
            "source.uri: must not contain '..'",
        ),
        (
            lambda d: d["validation"].update(suite="../../etc/passwd.json"),
            "validation.suite: '../../etc/passwd.json' must be a file name in the expectations folder",
        ),
        (
            lambda d: d["validation"].update(suite="/etc/suite.json"),
            "must be a file name in the expectations folder",
        ),
        (
            lambda d: d["validation"].update(max_duplicate_share=1.0),
            "validation.max_duplicate_share: Input should be less than 1",
        ),
        (
            lambda d: d["source"].update(uri="file:///srv/other/{ds}.csv"),
            "source.uri: 'file:///srv/other/{ds}.csv' is outside the allowed source roots",
        ),
    ],
)
def test_field_errors_name_the_field(tmp_path: Path, change, expected: str) -> None:
    d = flights()
    change(d)
    assert expected in bad(d, tmp_path)


def test_name_must_match_file(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(FLIGHTS.read_text())
    with pytest.raises(ConfigError, match="must match the file name 'other'"):
        load_pipeline(path)


def test_unset_env_var_without_default_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_VAR_X", raising=False)
    text = FLIGHTS.read_text().replace("${AIRFLOW_MLOPS_RAW_ROOT}", "${NO_SUCH_VAR_X}")
    with pytest.raises(ConfigError, match=r"x\.yaml: environment variable NO_SUCH_VAR_X is not set"):
        parse_pipeline(text, "x.yaml")


def test_broken_yaml_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_pipeline("name: [unclosed", "a.yaml")
    with pytest.raises(ConfigError, match="expected a mapping"):
        parse_pipeline("- a\n- b\n", "b.yaml")


def test_one_bad_file_does_not_hide_the_good_ones(tmp_path: Path) -> None:
    (tmp_path / "flights_delay.yaml").write_text(FLIGHTS.read_text())
    (tmp_path / "broken.yaml").write_text("name: broken\n")
    good, errors = load_pipelines(tmp_path)
    assert [c.name for c in good] == ["flights_delay"]
    assert len(errors) == 1 and "broken.yaml: source: Field required" in str(errors[0])


def test_config_hash_changes_with_config() -> None:
    a = parse_pipeline(FLIGHTS.read_text(), "a")
    b = parse_pipeline(FLIGHTS.read_text().replace("max_iter: 150", "max_iter: 151"), "b")
    assert a.config_hash == parse_pipeline(FLIGHTS.read_text(), "c").config_hash
    assert a.config_hash != b.config_hash


def test_two_pipelines_on_one_registered_model_are_both_refused(tmp_path: Path) -> None:
    """Otherwise one pipeline's candidate is judged against the other's champion."""
    for name in ("flights_delay", "flights_copy"):
        d = flights()
        d["name"] = name
        d["model"]["registered_name"] = "shared_model"
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(d))
    good, errors = load_pipelines(tmp_path)
    assert good == []
    assert sorted(str(e).split(":")[0] for e in errors) == [
        str(tmp_path / "flights_copy.yaml"),
        str(tmp_path / "flights_delay.yaml"),
    ]
    assert "model.registered_name: 'shared_model' is the registered model of pipelines" in str(errors[0])
