"""YAML is refused by the work its loading would take: expansion, depth, size, time, encoding, repeated keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_mlops.core.foundation.config import (
    load_pipeline,
    parse_pipeline,
    yamlload,
)
from airflow_mlops.core.foundation.errors import ConfigError
from tests.unit.core.foundation.config.pipelines import PIPELINES, shipped

pytestmark = pytest.mark.unit


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
