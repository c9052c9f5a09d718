"""The provider's description: valid for Airflow's schema, every name in it imports, and it lists
every operator module, extra link and notifier the package has (so a new one is not forgotten)."""

from __future__ import annotations

import json
import tomllib
from importlib import import_module
from pathlib import Path

import pytest

from airflow_mlops import links
from airflow_mlops.provider_info import get_provider_info

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "airflow_mlops"


def _import(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(import_module(module), name)


def test_it_is_valid_for_airflows_runtime_schema() -> None:
    import airflow
    import jsonschema

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == "airflow-mlops"  # Airflow refuses a name other than the dist's


def test_every_name_in_it_imports() -> None:
    info = get_provider_info()
    for entry in info["connection-types"]:
        hook = _import(entry["hook-class-name"])
        assert hook.conn_type == entry["connection-type"]  # type: ignore[attr-defined]
    for dotted in info["extra-links"] + info["notifications"]:
        _import(dotted)
    for kind in ("operators", "sensors", "hooks", "triggers"):
        for group in info[kind]:
            for module in group["python-modules"]:
                import_module(module)


@pytest.mark.parametrize("kind", ["operators", "sensors", "hooks", "triggers"])
def test_it_lists_every_module_of_each_kind(kind: str) -> None:
    listed = {m for group in get_provider_info()[kind] for m in group["python-modules"]}
    present = {
        f"airflow_mlops.{kind}.{p.stem}" for p in (PACKAGE / kind).glob("*.py") if p.stem != "__init__"
    }
    assert listed == present


def test_it_lists_every_extra_link() -> None:
    listed = set(get_provider_info()["extra-links"])
    assert listed == {f"{type(link).__module__}.{type(link).__qualname__}" for link in links.ALL}


def test_pyproject_registers_the_provider_and_the_plugin() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    eps = project["entry-points"]
    assert _import(eps["apache_airflow_provider"]["provider_info"].replace(":", ".")) is get_provider_info
    from airflow_mlops.plugin import MlopsPlugin

    assert _import(eps["airflow.plugins"]["airflow_mlops"].replace(":", ".")) is MlopsPlugin
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
