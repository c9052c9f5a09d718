"""The source section: locations expand from the environment, stay inside the allowed roots, and never show a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_mlops.core.foundation.config import (
    load_pipeline,
    parse_pipeline,
)
from airflow_mlops.core.foundation.errors import ConfigError
from tests.unit.core.foundation.config.pipelines import FLIGHTS, flights

pytestmark = pytest.mark.unit


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


def test_a_secret_in_a_value_stays_unexpanded_where_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEED_TOKEN", "t0ps3cret")
    text = FLIGHTS.read_text().replace("/flights/{ds}.csv", "/flights/${FEED_TOKEN}/{ds}.csv")
    cfg = parse_pipeline(text, "x.yaml")
    assert "t0ps3cret" in cfg.source.for_interval("2013-01-01")
    shown = cfg.source.for_interval("2013-01-01", shown=True)
    assert "t0ps3cret" not in shown and shown.endswith("/flights/${FEED_TOKEN}/2013-01-01.csv")
    assert "${AIRFLOW_MLOPS_RAW_ROOT}" not in shown, "the project's own locations are shown expanded"
