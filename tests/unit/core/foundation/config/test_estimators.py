"""Estimators are judged by their path before any import: outside the allowed packages they are refused unimported."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from airflow_mlops.core.foundation.config import (
    estimators,
    load_pipeline,
    load_pipelines,
    parse_pipeline,
)
from airflow_mlops.core.foundation.errors import ConfigError
from tests.unit.core.foundation.config.pipelines import PIPELINES, refused, shipped

pytestmark = pytest.mark.unit


# --- estimators, before any import ---------------------------------------------------------------
@pytest.fixture
def side_effect_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A module on sys.path that writes a marker when imported; its path in the marker file's name."""
    code = tmp_path / "code"
    code.mkdir()
    marker = tmp_path / "imported.marker"
    (code / "rogue_models.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "class Model:\n"
        "    def fit(self, X, y): return self\n"
        "    def predict(self, X): return X\n"
        "    def get_params(self, deep=True): return {}\n"
        "    def set_params(self, **p): return self\n"
        "class NotOne:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.delitem(sys.modules, "rogue_models", raising=False)
    return marker


@pytest.mark.parametrize(
    "path", ["rogue_models.Model", "rogue_models.sub.Model", "sklearnx.Model", "sklearn_rogue.Model"]
)
def test_an_estimator_outside_the_allowed_packages_is_refused_unimported(
    home: Path, tmp_path: Path, side_effect_module: Path, path: str
) -> None:
    d = shipped("flights_delay")
    d["model"].update(estimator=path, params={})
    file = tmp_path / "flights_delay.yaml"
    file.write_text(yaml.safe_dump(d))
    with pytest.raises(ConfigError) as e:
        load_pipeline(file)
    assert f"{file}: model.estimator: {path!r} is outside the packages a pipeline may use" in str(e.value)
    assert not side_effect_module.exists() and "rogue_models" not in sys.modules


def test_an_allowed_package_is_imported_and_judged(
    home: Path, side_effect_module: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(estimators.ALLOWED_ENV, "xgboost,rogue_models")
    d = shipped("flights_delay")
    d["model"].update(estimator="rogue_models.NotOne", params={})
    assert "p.yaml: model.estimator: 'rogue_models.NotOne' is not a scikit-learn estimator" in refused(d)
    assert side_effect_module.exists()
    d["model"].update(estimator="rogue_models.Missing")
    assert "p.yaml: model.estimator: cannot import 'rogue_models.Missing'" in refused(d)
    d["model"].update(estimator="rogue_models.Model")
    assert parse_pipeline(yaml.safe_dump(d), "p.yaml").model.estimator == "rogue_models.Model"


def test_an_allowed_module_that_fails_to_import_spoils_only_its_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    code = tmp_path / "code"
    code.mkdir()
    (code / "broken_models.py").write_text("raise RuntimeError('no licence server')\n")
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.setenv(estimators.ALLOWED_ENV, "broken_models")
    folder = tmp_path / "pipelines"
    folder.mkdir()
    d = shipped("flights_delay")
    d["model"].update(estimator="broken_models.Model", params={})
    (folder / "flights_delay.yaml").write_text(yaml.safe_dump(d))
    (folder / "diabetes_progression.yaml").write_text((PIPELINES / "diabetes_progression.yaml").read_text())
    good, bad = load_pipelines(folder)
    assert [c.name for c in good] == ["diabetes_progression"]
    assert str(bad[0]) == (
        f"{folder / 'flights_delay.yaml'}: model.estimator: importing 'broken_models.Model' failed: "
        "RuntimeError: no licence server"
    )


@pytest.mark.parametrize(
    ("pipeline", "estimator", "params", "problem"),
    [
        (
            "flights_delay",
            "sklearn.linear_model.LinearRegression",
            {},
            "is a scikit-learn regressor, but schema.task is classification",
        ),
        (
            "diabetes_progression",
            "sklearn.ensemble.RandomForestClassifier",
            {},
            "is a scikit-learn classifier, but schema.task is regression",
        ),
        ("flights_delay", "sklearn.utils.Bunch", {}, "is not a scikit-learn classifier"),
        (
            "flights_delay",
            "sklearn.multioutput.MultiOutputClassifier",
            {},
            "needs constructor argument(s) ['estimator']",
        ),
        ("diabetes_progression", "sklearn.linear_model.Ridge", {"C": 1.0}, None),
    ],
)
def test_scikit_learn_estimators_are_judged_from_the_shipped_list(
    pipeline: str, estimator: str, params: dict, problem: str | None
) -> None:
    d = shipped(pipeline)
    d["model"].update(estimator=estimator, params=params)
    msg = refused(d)
    if problem is None:
        assert "p.yaml: model.params: ['C'] are not parameters of Ridge; valid: ['alpha'," in msg
    else:
        assert f"p.yaml: model.estimator: {estimator!r} {problem}" in msg


def test_parsing_imports_no_scikit_learn(tmp_path: Path) -> None:
    """The DAG processor parses configs at every parse: the list is read, scikit-learn is not."""
    import subprocess

    code = (
        "import sys\n"
        "from airflow_mlops.core.foundation.config import load_pipelines\n"
        f"good, bad = load_pipelines({str(PIPELINES)!r})\n"
        "assert len(good) == 3 and not bad, bad\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'numpy', 'pandas')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_shipped_estimator_list_is_the_installed_scikit_learns() -> None:
    """Regenerate with ``python -m airflow_mlops.core.foundation.config.estimators`` after moving the pin."""
    shipped_list = json.loads(estimators.CATALOG.read_text())
    assert shipped_list == json.loads(json.dumps(estimators.generate()))
    assert len(shipped_list["estimators"]) > 50
