"""A config is refused before any of its code runs: estimators by path, gate values by the metric's
range, YAML by the work its loading would take. Each error names the file and the field."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import yaml

from airflow_mlops.core.foundation.config import estimators, load_pipeline, parse_pipeline, yamlload
from airflow_mlops.core.foundation.errors import ConfigError
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

PIPELINES = ROOT / "include" / "pipelines"


def shipped(name: str) -> dict:
    return yaml.safe_load((PIPELINES / f"{name}.yaml").read_text())


def refused(d: dict, source: str = "p.yaml") -> str:
    with pytest.raises(ConfigError) as e:
        parse_pipeline(yaml.safe_dump(d), source)
    return str(e.value)


# --- gate values the metric cannot take ---------------------------------------------------------
@pytest.mark.parametrize(
    ("pipeline", "gate", "problem"),
    [
        ("flights_delay", {"minimum": 2.0}, "gate.minimum: 2.0 is outside the range of roc_auc, [0, 1]"),
        ("flights_delay", {"minimum": -1}, "gate.minimum: -1.0 is outside the range of roc_auc, [0, 1]"),
        (
            "flights_delay",
            {"metric": "accuracy", "minimum": 1.2},
            "gate.minimum: 1.2 is outside the range of accuracy",
        ),
        (
            "flights_delay",
            {"metric": "log_loss", "minimum": -0.1},
            "gate.minimum: -0.1 is outside the range of log_loss, [0, inf)",
        ),
        (
            "flights_delay",
            {"min_improvement": 1.5},
            "gate.min_improvement: 1.5 is larger than any difference of two roc_auc scores (its range is [0, 1]",
        ),
        (
            "flights_delay",
            {"slices": ["origin"], "max_slice_gap": 3},
            "gate.max_slice_gap: 3.0 is larger than any difference of two roc_auc scores",
        ),
        (
            "diabetes_progression",
            {"metric": "rmse", "minimum": -5},
            "gate.minimum: -5.0 is outside the range of rmse, [0, inf)",
        ),
        (
            "diabetes_progression",
            {"metric": "mae", "minimum": -0.5},
            "gate.minimum: -0.5 is outside the range of mae",
        ),
        ("diabetes_progression", {"minimum": 1.5}, "gate.minimum: 1.5 is outside the range of r2, (-inf, 1]"),
        ("flights_delay", {"minimum": math.nan}, "gate.minimum: Input should be a finite number"),
        (
            "flights_delay",
            {"min_improvement": math.inf},
            "gate.min_improvement: Input should be a finite number",
        ),
    ],
)
def test_gate_values_outside_the_metrics_range_are_refused(pipeline: str, gate: dict, problem: str) -> None:
    d = shipped(pipeline)
    if "metric" in gate:
        d["metrics"] = [*d["metrics"], gate["metric"]]
    d["gate"].update(gate)
    assert f"p.yaml: {problem}" in refused(d)


def test_a_performance_trigger_bound_outside_the_range_is_refused() -> None:
    d = shipped("flights_delay")
    d["monitor"] = {"triggers": {"performance": {"enabled": True, "floor": 1.3, "max_drop": 2}}}
    msg = refused(d)
    assert "p.yaml: monitor.triggers.performance.floor: 1.3 is outside the range of roc_auc" in msg
    assert "p.yaml: monitor.triggers.performance.max_drop: 2.0 is larger than any difference" in msg


def test_gate_values_at_the_edges_of_the_range_pass() -> None:
    d = shipped("flights_delay")
    d["gate"].update(minimum=1.0, min_improvement=1.0)
    assert parse_pipeline(yaml.safe_dump(d), "p.yaml").gate.minimum == 1.0
    r = shipped("diabetes_progression")
    r["gate"].update(minimum=-50.0)  # r2 has no lower bound
    assert parse_pipeline(yaml.safe_dump(r), "p.yaml").gate.minimum == -50.0


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
    from airflow_mlops.core.foundation.config import load_pipelines

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


# --- bounded YAML --------------------------------------------------------------------------------
def _bomb(levels: int, width: int = 9, as_map: bool = False) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        refs = [f"*l{i - 1}"] * width
        body = (
            "{" + ", ".join(f"k{j}: {r}" for j, r in enumerate(refs)) + "}"
            if as_map
            else f"[{', '.join(refs)}]"
        )
        lines.append(f"l{i}: &l{i} {body}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_bomb(9), "expands to more than 20000 values"),
        (_bomb(12, width=3), "expands to more than 20000 values"),
        (_bomb(6, as_map=True), "expands to more than 20000 values"),
        (
            "base: &b {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n"
            + "".join(
                f"m{i}: &m{i} {{<<: *{'b' if i == 0 else f'm{i - 1}'}, x{i}: [{', '.join(['*b'] * 40)}]}}\n"
                for i in range(60)
            ),
            "expands to more than 20000 values",
        ),
        ("a: " + "[" * 40 + "]" * 40 + "\n", "line 1: nested deeper than 32 levels"),
        (
            "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 40)) + "  " * 40 + "v\n",
            "nested deeper than 32 levels",
        ),
        ("# " + "x" * (300 * 1024) + "\nname: x\n", "larger than 256 KiB"),
        (
            "name: a\ngate: {metric: roc_auc}\nname: b\n",
            "line 3: key 'name' given twice in one mapping (first on line 1)",
        ),
        (
            "gate:\n  minimum: 0.7\n  minimum: 0.1\n",
            "line 3: key 'minimum' given twice in one mapping (first on line 2)",
        ),
    ],
)
def test_yaml_whose_loading_would_cross_a_bound_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_pipeline(path)
    assert str(e.value).startswith(f"{path}: ") and problem in str(e.value)


def test_the_time_bound_refuses_a_slow_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlload, "MAX_SECONDS", -1.0)
    with pytest.raises(ConfigError, match=r"^slow.yaml: took more than -1 s to read; refused$"):
        yamlload.load_yaml((PIPELINES / "flights_delay.yaml").read_text(), "slow.yaml")


def test_a_file_not_in_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes("name: x\n".encode("utf-16"))
    with pytest.raises(ConfigError, match=r"x.yaml: not UTF-8 text \(byte 0"):
        load_pipeline(path)


def test_anchors_and_merge_keys_within_the_bounds_still_work() -> None:
    d = shipped("flights_delay")
    text = yaml.safe_dump(d).replace("features:\n", "features: &f\n", 1) + "x_copy: *f\n"
    with pytest.raises(ConfigError, match=r"p.yaml: x_copy: unknown field"):
        parse_pipeline(text, "p.yaml")
    assert yamlload.load_yaml("a: &a {x: 1}\nb: {<<: *a, y: 2}\n", "m.yaml") == {
        "a": {"x": 1},
        "b": {"x": 1, "y": 2},
    }
