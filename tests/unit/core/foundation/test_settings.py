"""Settings: a checkout has defaults (its .state and include); an installed package names what to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.core.foundation import settings
from airflow_mlops.core.foundation.errors import ConfigError

pytestmark = pytest.mark.unit

VARS = (
    "AIRFLOW_MLOPS_HOME",
    "AIRFLOW_MLOPS_INCLUDE_DIR",
    "AIRFLOW_MLOPS_PIPELINES_DIR",
    "AIRFLOW_MLOPS_EXPECTATIONS_DIR",
)


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_a_checkout_keeps_its_defaults(unset: pytest.MonkeyPatch) -> None:
    root = settings.checkout()
    assert root is not None and (root / "pyproject.toml").is_file()
    s = settings.get_settings()
    assert s.home == root / ".state" and s.pipelines_dir == root / "include" / "pipelines"


@pytest.mark.parametrize("missing", ["AIRFLOW_MLOPS_HOME", "AIRFLOW_MLOPS_INCLUDE_DIR"])
def test_an_installed_package_names_the_setting_it_needs(
    unset: pytest.MonkeyPatch, tmp_path: Path, missing: str
) -> None:
    unset.setattr(settings, "checkout", lambda: None)
    for var in ("AIRFLOW_MLOPS_HOME", "AIRFLOW_MLOPS_INCLUDE_DIR"):
        if var != missing:
            unset.setenv(var, str(tmp_path / var))
    with pytest.raises(ConfigError, match=rf"setting {missing} is not set: airflow-mlops is installed"):
        settings.get_settings()


def test_an_installed_package_runs_from_its_settings(unset: pytest.MonkeyPatch, tmp_path: Path) -> None:
    unset.setattr(settings, "checkout", lambda: None)
    unset.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path / "state"))
    unset.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path / "p"))
    unset.setenv("AIRFLOW_MLOPS_EXPECTATIONS_DIR", str(tmp_path / "e"))
    s = settings.get_settings()  # no include folder needed when both of its parts are given
    assert (s.home, s.pipelines_dir, s.expectations_dir) == (
        tmp_path / "state",
        tmp_path / "p",
        tmp_path / "e",
    )
    assert s.lake_root == (tmp_path / "state" / "lake").as_uri()


def test_a_package_in_a_virtual_environment_is_not_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "lib" / "python3.11" / "site-packages" / "airflow_mlops" / "core" / "foundation"
    module.mkdir(parents=True)
    monkeypatch.setattr(settings, "__file__", str(module / "settings.py"))
    monkeypatch.setattr(settings, "PROJECT_ROOT", (module / "settings.py").parents[4])
    (settings.PROJECT_ROOT / "include").mkdir()  # even with a folder where a checkout's would be
    assert settings.checkout() is None
