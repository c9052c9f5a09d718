"""The pipeline schema: strict, and every error names the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_mlops.core.foundation.config import load_pipeline, load_pipelines, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

FLIGHTS = ROOT / "include" / "pipelines" / "flights_delay.yaml"


def flights() -> dict:
    return yaml.safe_load(FLIGHTS.read_text())


def bad(data: dict, tmp_path: Path) -> str:
    path = tmp_path / f"{data.get('name', 'x')}.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as e:
        load_pipeline(path)
    return str(e.value)


def test_shipped_pipelines_are_valid(home: Path) -> None:
    good, errors = load_pipelines(ROOT / "include" / "pipelines")
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


def test_derived_column_must_be_declared(tmp_path: Path) -> None:
    d = flights()
    d["schema"]["derive"]["very_late"] = "arr_delay > 60"
    assert "schema: derive: 'very_late' must also be declared in columns" in bad(d, tmp_path)


def test_env_vars_expand_in_values_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAW_X", "s3://bucket/raw")
    monkeypatch.delenv("NOT_SET_X", raising=False)
    text = "# a comment may mention ${NOT_SET_X}\n" + FLIGHTS.read_text().replace(
        "${AIRFLOW_MLOPS_RAW_ROOT}", "${RAW_X}"
    )
    cfg = parse_pipeline(text, "x.yaml")
    assert cfg.source.for_interval("2013-01-01") == "s3://bucket/raw/flights/2013-01-01.csv"


def test_source_roots_widen_with_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = flights()
    d["source"]["uri"] = "s3://feeds/flights/{ds}.csv"
    path = tmp_path / "flights_delay.yaml"
    path.write_text(yaml.safe_dump(d))
    with pytest.raises(ConfigError, match="outside the allowed source roots"):
        load_pipeline(path)
    monkeypatch.setenv("AIRFLOW_MLOPS_SOURCE_ROOTS", "s3://feeds, file:///srv/raw")
    assert load_pipeline(path).source.uri == "s3://feeds/flights/{ds}.csv"


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


def test_a_secret_in_a_value_stays_unexpanded_where_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEED_TOKEN", "t0ps3cret")
    text = FLIGHTS.read_text().replace("/flights/{ds}.csv", "/flights/${FEED_TOKEN}/{ds}.csv")
    cfg = parse_pipeline(text, "x.yaml")
    assert "t0ps3cret" in cfg.source.for_interval("2013-01-01")
    shown = cfg.source.for_interval("2013-01-01", shown=True)
    assert "t0ps3cret" not in shown and shown.endswith("/flights/${FEED_TOKEN}/2013-01-01.csv")
    assert "${AIRFLOW_MLOPS_RAW_ROOT}" not in shown, "the project's own locations are shown expanded"


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
