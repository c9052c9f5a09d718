"""The airflow-mlops command: check and status, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_mlops.cli import main
from tests.unit.conftest import World

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_check_passes_on_the_shipped_pipelines(home: Path, capsys) -> None:
    assert main(["check"]) == 0
    assert "ok: diabetes_progression, flights_delay" in capsys.readouterr().out


def test_check_names_every_problem(home: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\nsource: {uri: 'file:///raw/{ds}.csv', colour: red}\n")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: source.colour: unknown field" in err and f"{bad}: gate: Field required" in err


def test_check_loads_the_suite(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("AIRFLOW_MLOPS_EXPECTATIONS_DIR", str(tmp_path))
    (tmp_path / "flights_delay.json").write_text("{not json")
    assert main(["check", str(ROOT / "include" / "pipelines" / "flights_delay.yaml")]) == 1
    assert "flights_delay: validation.suite:" in capsys.readouterr().err


def test_status_before_anything_ran(home: Path, capsys) -> None:
    assert main(["status", "--json"]) == 0
    rows = {r["pipeline"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["flights_delay"]["champion"] is None and rows["flights_delay"]["batches"] == 0
    assert main(["status", "flights_delay"]) == 0
    assert "champion:        none yet" in capsys.readouterr().out
    assert main(["status", "no_such_pipeline"]) == 2


def test_check_builds_the_estimator(home: Path, tmp_path: Path, capsys) -> None:
    """An estimator that does not exist, or is not one, fails `check`, not the first training."""
    import yaml

    for estimator, problem in (
        ("sklearn.ensemble.NoSuchForest", "cannot import 'sklearn.ensemble.NoSuchForest'"),
        ("collections.OrderedDict", "'collections.OrderedDict' is not a scikit-learn estimator"),
    ):
        d = yaml.safe_load((ROOT / "include" / "pipelines" / "flights_delay.yaml").read_text())
        d["model"]["estimator"] = estimator
        path = tmp_path / "flights_delay.yaml"
        path.write_text(yaml.safe_dump(d))
        assert main(["check", str(path)]) == 1
        assert f"flights_delay: model.estimator: {problem}" in capsys.readouterr().err


def test_card_prints_the_stored_card_of_a_version(world: World, capsys) -> None:
    """`card` reaches the same store as the tasks and prints what training and the gate wrote."""
    v = world.champion()
    capsys.readouterr()
    assert main(["card", "flights_delay", v]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# Model card: flights_delay v{v}\n") and "**State: champion**" in out
    assert main(["card", "flights_delay", v, "--html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "<strong>State: champion</strong>" in page
    assert main(["card", "flights_delay", "9999"]) == 2
    assert "flights_delay v9999: no model card" in capsys.readouterr().err
    assert main(["card", "no_such_pipeline", v]) == 2
    assert "no pipeline named no_such_pipeline" in capsys.readouterr().err
