"""The shipped pipelines as test material: read one, change it, and see what the loader says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_mlops.core.foundation.config import load_pipeline, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError
from tests.conftest import ROOT

PIPELINES = ROOT / "include" / "pipelines"
FLIGHTS = PIPELINES / "flights_delay.yaml"


def shipped(name: str) -> dict:
    return yaml.safe_load((PIPELINES / f"{name}.yaml").read_text())


def flights() -> dict:
    return shipped("flights_delay")


def bad(data: dict, tmp_path: Path) -> str:
    """The error of loading ``data`` from a file named after its pipeline."""
    path = tmp_path / f"{data.get('name', 'x')}.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as e:
        load_pipeline(path)
    return str(e.value)


def refused(d: dict, source: str = "p.yaml") -> str:
    """The error of parsing ``d`` as the text of ``source``."""
    with pytest.raises(ConfigError) as e:
        parse_pipeline(yaml.safe_dump(d), source)
    return str(e.value)
