"""Writing: existing files refused unless forced, and nothing left half written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_mlops.core.data import scaffold
from airflow_mlops.core.foundation.errors import ConfigError
from tests.unit.core.data.scaffold.conftest import mixed, sample, written

pytestmark = pytest.mark.unit


def test_existing_files_are_refused_unless_forced_and_nothing_is_left_half_written(home: Path) -> None:
    path = sample(home, "shop", mixed())
    sc, yaml_path, suite_path = written(home, "shop", path, "label")
    suite_path.write_text("{}")  # a suite someone has edited
    with pytest.raises(ConfigError, match=r"shop\.json: already exist\(s\); pass --force"):
        written(home, "shop", path, "label")
    assert suite_path.read_text() == "{}", "not touched"
    scaffold.write(sc, yaml_path.parent, suite_path.parent, force=True)
    assert json.loads(suite_path.read_text())["name"] == "shop"
    leftovers = [p.name for d in (yaml_path.parent, suite_path.parent) for p in d.iterdir()]
    assert sorted(leftovers) == ["shop.json", "shop.yaml"], "no temporary files stay"
