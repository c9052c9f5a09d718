"""The docs say what the code does: cited tests exist, every config field, DAG, operator and tag a
user meets is documented, and the README's cheap commands run."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CITED = re.compile(r"`((?:(?:unit|integration|e2e|integrity|deployment|dev)/)?[\w/]+\.py)::(\w+)")


def _text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_every_test_the_reliability_table_cites_exists() -> None:
    """A row that cites a test which is gone (renamed, merged) claims a proof that is not there."""
    cited = CITED.findall(_text("docs/reliability.md"))
    assert len(cited) > 100, "the reliability table cites too few tests: did the pattern change?"
    missing = []
    for path, name in cited:
        f = ROOT / "tests" / path
        if not f.is_file() or not re.search(rf"^\s*(?:async )?def {name}\(", f.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/reliability.md cites tests that do not exist: {sorted(set(missing))}"


def _fields(model: Any, prefix: str = "") -> list[str]:
    """Every field path of a pydantic model, nested models included."""
    from pydantic import BaseModel

    out = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        out.append(f"{prefix}{key}")
        ann = info.annotation
        for sub in (ann, *getattr(ann, "__args__", ())):
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                out += _fields(sub, f"{prefix}{key}.")
    return out


def test_every_config_field_is_documented() -> None:
    """Each field of the pipeline schema has a row (`| \\`name\\` |`) in configuration.md."""
    from airflow_mlops.core.foundation.config import PipelineConfig

    doc = _text("docs/configuration.md")
    rows = [line for line in doc.splitlines() if line.startswith("|")]

    def documented(path: str) -> bool:
        last = path.rsplit(".", 1)[-1]
        tail = ".".join(path.split(".")[-2:])
        return f"`{path}`" in doc or f"`{tail}`" in doc or any(f"`{last}`" in row for row in rows)

    undocumented = [f for f in _fields(PipelineConfig) if not documented(f)]
    assert not undocumented, f"fields without a row in docs/configuration.md: {undocumented}"


def test_the_dag_count_per_pipeline_is_the_one_the_docs_give(dagbag) -> None:
    from airflow_mlops.core.foundation.config import load_pipelines
    from airflow_mlops.core.foundation.settings import get_settings

    pipelines, _ = load_pipelines(get_settings().pipelines_dir)
    per = len([d for d in dagbag.dags if d.startswith(f"{pipelines[0].name}__")])
    words = {3: "three", 4: "four", 5: "five"}
    assert per in words, per
    for doc in ("README.md", "docs/configuration.md", "docs/deployment.md", "docs/operators.md"):
        text = _text(doc)
        for n, word in words.items():
            if n != per:
                assert f"{word} DAGs" not in text, f"{doc} says '{word} DAGs'; a pipeline has {per}"
    kinds = sorted(d.split("__", 1)[1] for d in dagbag.dags if d.startswith(f"{pipelines[0].name}__"))
    conf = _text("docs/configuration.md")
    for kind in kinds:
        assert f"`<name>__{kind}`" in conf, f"docs/configuration.md does not name the {kind} DAG"
    tags = {t for dag in dagbag.dags.values() for t in dag.tags} - {p.name for p in pipelines}
    doc = _text("docs/operators.md") + _text("docs/configuration.md") + _text("README.md")
    assert not [t for t in tags if t not in doc and t not in {p for p in pipelines[0].tags}], tags


def test_every_operator_and_sensor_is_documented() -> None:
    import airflow_mlops.operators as ops
    import airflow_mlops.sensors as sensors

    doc = _text("docs/operators.md")
    names = [
        n
        for mod in (ops, sensors)
        for n in getattr(mod, "__all__", dir(mod))
        if n.endswith(("Operator", "Sensor")) and not n.startswith("_")
    ]
    assert names, "no operator found: did the package layout change?"
    assert not [n for n in names if f"`{n}`" not in doc and f"## {n}" not in doc], names


def _readme_commands() -> list[str]:
    """The README's `airflow-mlops check` lines: cheap, no server, and what a user runs first."""
    lines = re.findall(r"^\s*(?:\$ )?(airflow-mlops check[^\n#]*)", _text("README.md"), re.M)
    return sorted({line.strip() for line in lines})


@pytest.mark.parametrize("command", _readme_commands() or ["airflow-mlops check"])
def test_the_readmes_check_command_runs(command: str) -> None:
    args = shlex.split(command)
    exe = Path(sys.executable).with_name(args[0])
    out = subprocess.run([str(exe), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{command}: {out.stdout}{out.stderr}"
    assert "ok" in out.stdout, out.stdout
