"""The layers of docs/architecture.md, enforced: every import (at module level or inside a function)
runs down the layers, never up, and core never imports Airflow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "plugins" / "airflow_mlops"

#: Layer of each module (by dotted prefix, longest wins), lowest first; a module may import its own
#: layer and the ones below it. Keep in step with the table in docs/architecture.md.
LAYERS: list[tuple[str, list[str]]] = [
    ("core", ["airflow_mlops.core", "airflow_mlops"]),
    ("hooks", ["airflow_mlops.hooks"]),
    ("triggers", ["airflow_mlops.triggers"]),
    ("notifiers", ["airflow_mlops.notifiers"]),
    (
        "tasks",
        [
            "airflow_mlops.base",
            "airflow_mlops.links",
            "airflow_mlops.operators",
            "airflow_mlops.sensors",
            "airflow_mlops.params",
        ],
    ),
    (
        "entry points",
        [
            "airflow_mlops.dag_factory",
            "airflow_mlops.plugin",
            "airflow_mlops.cli",
            "mlops_plugin",
            "mlops_pipelines",
            "mlops_config_errors",
        ],
    ),
    ("dev tooling", ["dev"]),
]
#: Pairs of the same layer that must not know each other.
APART = [
    ("airflow_mlops.operators", "airflow_mlops.sensors"),
    ("airflow_mlops.sensors", "airflow_mlops.operators"),
]


def _module(path: Path) -> str:
    if path.parent == ROOT / "dags":
        return path.stem
    rel = path.relative_to(ROOT if path.is_relative_to(ROOT / "dev") else ROOT / "plugins").with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > best[1]):
                best = (i, len(p))
    return None if best is None else best[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(node.lineno, node.module)]
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


FILES = sorted(
    [
        *PACKAGE.rglob("*.py"),
        ROOT / "plugins" / "mlops_plugin.py",
        *(ROOT / "dags").glob("*.py"),
        *(ROOT / "dev").glob("*.py"),
    ]
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_down_the_layers(path: Path) -> None:
    me = _module(path)
    mine = _layer(me)
    assert mine is not None, f"{me} belongs to no layer of docs/architecture.md"
    problems = []
    for line, target in _imports(path):
        if mine == 0 and (target == "airflow" or target.startswith("airflow.")):
            problems.append(f"line {line}: core imports Airflow ({target})")
        theirs = _layer(target) if target.split(".")[0] in ("airflow_mlops", "mlops_plugin", "dev") else None
        if theirs is not None and theirs > mine:
            problems.append(
                f"line {line}: {me} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]}), a layer above"
            )
        for a, b in APART:
            if (me == a or me.startswith(a + ".")) and (target == b or target.startswith(b + ".")):
                problems.append(f"line {line}: {me} imports {target}; they stand apart")
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_every_layer_has_modules() -> None:
    """The table is not stale: each layer's prefixes name real modules."""
    modules = {_module(p) for p in FILES}
    for name, prefixes in LAYERS:
        for p in prefixes:
            assert any(m == p or m.startswith(p + ".") for m in modules), f"layer {name}: no module {p}"


#: The stages of core, lowest first: a stage may import its own modules and those of the stages
#: below it (the foundation is below every stage), never one above. Keep in step with
#: docs/architecture.md.
STAGES = ["foundation", "data", "model", "monitor", "presentation"]
CORE = PACKAGE / "core"


def _stage(module: str) -> int | None:
    parts = module.split(".")
    if parts[:2] != ["airflow_mlops", "core"] or len(parts) < 3:
        return None
    return STAGES.index(parts[2]) if parts[2] in STAGES else -1


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_stages_import_only_down(path: Path) -> None:
    me = _module(path)
    mine = _stage(me)
    if me == "airflow_mlops.core":
        return
    assert mine is not None and mine >= 0, f"{me} is in no stage folder of core ({', '.join(STAGES)})"
    problems = [
        f"line {line}: {me} ({STAGES[mine]}) imports {target} ({STAGES[theirs]}), a stage above"
        for line, target in _imports(path)
        if (theirs := _stage(target)) is not None and theirs > mine
    ]
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_private_name_of_another(path: Path) -> None:
    """A leading underscore means "mine": no module of the library imports another's."""
    tree = ast.parse(path.read_text(), str(path))
    problems = [
        f"line {node.lineno}: from {node.module} import {a.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("airflow_mlops")
        for a in node.names
        if a.name.startswith("_") and not a.name.startswith("__")
    ]
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_core_has_no_loose_modules() -> None:
    """Every core module lives in a stage folder; core's own ``__init__`` is empty."""
    loose = sorted(p.name for p in CORE.glob("*.py") if p.name != "__init__.py")
    assert not loose, f"core modules outside a stage folder: {loose}"
    assert sorted(p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(STAGES)


#: MLflow client methods that read or move an alias or touch a tag of a model: only the gateway calls them.
REGISTRY_METHODS = {
    "set_registered_model_alias",
    "delete_registered_model_alias",
    "get_model_version_by_alias",
    "set_model_version_tag",
    "delete_model_version_tag",
    "set_registered_model_tag",
    "delete_registered_model_tag",
}
GATEWAY = PACKAGE / "core" / "foundation" / "registry.py"


def test_only_the_registry_gateway_calls_alias_and_tag_methods() -> None:
    """Every champion read and write and every model tag goes through ``ModelRegistry``, so the
    alias is moved one way, under one lock, and a registry that cannot answer is never "no champion"."""
    problems = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.attr}"
        for path in FILES
        if path != GATEWAY
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Attribute) and node.attr in REGISTRY_METHODS
    ]
    assert GATEWAY.exists()
    assert not problems, "call these through core.foundation.registry.ModelRegistry:\n" + "\n".join(problems)


def _mirror_problems() -> tuple[list[str], list[str]]:
    """Modules without a test file at their mirrored path, and unit test files mapping to no module."""
    unit = ROOT / "tests" / "unit"
    modules = [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    untested = []
    for m in modules:
        rel = m.relative_to(PACKAGE)
        folder = unit / rel.parent
        if not (folder / f"test_{rel.stem}.py").is_file() and not list(folder.glob(f"test_{rel.stem}_*.py")):
            untested.append(str(rel))
    orphans = []
    for t in unit.rglob("test_*.py"):
        rel = t.relative_to(unit)
        words = t.stem.removeprefix("test_").split("_")
        stems = ("_".join(words[:i]) for i in range(1, len(words) + 1))
        if not any((PACKAGE / rel.parent / f"{s}.py").is_file() for s in stems):
            orphans.append(str(rel))
    return sorted(untested), sorted(orphans)


def test_tests_mirror_the_tree() -> None:
    """Every module has its test file at the mirrored path under tests/unit (``test_<module>.py``, or
    topic files ``test_<module>_<topic>.py`` beside it), and every unit test file names its module."""
    untested, orphans = _mirror_problems()
    assert not untested, f"modules without tests/unit/<path>/test_<module>[_<topic>].py: {untested}"
    assert not orphans, f"unit test files that name no module at their path: {orphans}"
