"""Test the validity of all DAGs. **USED BY DEV PARSE COMMAND DO NOT EDIT**

`astro dev parse` (and `astro dev pytest`) run this file inside the project's image. It is the
Astro CLI's Airflow 3 template, adapted to Airflow 3.3:

- ``DagBag()`` without ``include_examples`` (Airflow 3.3 removed that argument);
- Variables, Connections and ``os.getenv`` are patched where Airflow 3 DAG code reaches them
  (the Task SDK's ``Variable`` and ``BaseHook``), so a DAG file that reads them at parse time
  gets a mocked value instead of failing for want of a running Airflow;
- a file that imports cleanly is reported by its path (``dag.fileloc``), not by a DAG id;
- ``.astro/dag_integrity_exceptions.txt`` is optional, and its comments are ignored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from airflow.models import DagBag
from airflow.sdk import BaseHook, Connection, Variable
from airflow.utils.db import initdb

EXCEPTIONS_FILE = ".astro/dag_integrity_exceptions.txt"
NO_IMPORT_ERRORS = "No import errors"

# Initialise the Airflow database (SQLite in the container Astro runs this file in).
initdb()


# =========== MONKEYPATCH BaseHook.get_connection() ===========
def basehook_get_connection_monkeypatch(cls: Any, conn_id: str, *args: Any, **kwargs: Any) -> Connection:
    print(f"Attempted to fetch connection during parse, returning an empty Connection object for {conn_id}")
    return Connection(conn_id=conn_id, conn_type="generic")


BaseHook.get_connection = classmethod(basehook_get_connection_monkeypatch)  # type: ignore[method-assign,assignment]
# =========== /MONKEYPATCH BaseHook.get_connection() ===========


# =========== MONKEYPATCH os.getenv() ===========
_real_getenv = os.getenv


def os_getenv_monkeypatch(key: str, *args: Any, **kwargs: Any) -> str | None:
    default = args[0] if args else kwargs.get("default")
    env_value = os.environ.get(key)
    if env_value:
        return env_value
    if key in ("JENKINS_HOME", "PYTEST_THEME") and default is None:
        # astro-cli issue 601 (Jenkins), and pytest's validation of pygments styles.
        return None
    if default:
        return str(default)
    return f"MOCKED_{key.upper()}_VALUE"


os.getenv = os_getenv_monkeypatch  # type: ignore[assignment]
# =========== /MONKEYPATCH os.getenv() ===========


# =========== MONKEYPATCH Variable.get() ===========
class MagicDict(dict):  # type: ignore[type-arg]
    def __getitem__(self, key: Any) -> Any:
        return {}.get(key, "MOCKED_KEY_VALUE")


_NO_DEFAULT = object()  # allows falsy defaults


def variable_get_monkeypatch(
    cls: Any, key: str, default: Any = _NO_DEFAULT, deserialize_json: bool = False, **kwargs: Any
) -> Any:
    print(f"Attempted to get Variable value during parse, returning a mocked value for {key}")
    default = kwargs.get("default_var", default)
    if default is not _NO_DEFAULT:
        return default
    if deserialize_json:
        return MagicDict()
    return "NON_DEFAULT_MOCKED_VARIABLE_VALUE"


Variable.get = classmethod(variable_get_monkeypatch)  # type: ignore[method-assign,assignment]
# =========== /MONKEYPATCH Variable.get() ===========


@contextmanager
def suppress_logging(namespace: str) -> Iterator[None]:
    """Suppress logging within a namespace to keep the test output clean."""
    logger = logging.getLogger(namespace)
    old_value = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = old_value


def _relpath(path: str) -> str:
    return os.path.relpath(path, os.environ.get("AIRFLOW_HOME", os.getcwd()))


def get_import_errors() -> list[tuple[str, str]]:
    """(file, error) for each DAG file that failed to import, (file, NO_IMPORT_ERRORS) for the rest."""
    with suppress_logging("airflow"):
        dag_bag = DagBag()
    result = [(_relpath(path), str(error).strip()) for path, error in dag_bag.import_errors.items()]
    failed = set(dag_bag.import_errors)
    clean = sorted({dag.fileloc for dag in dag_bag.dags.values() if dag.fileloc not in failed})
    result += [(_relpath(path), NO_IMPORT_ERRORS) for path in clean]
    return result


def read_exceptions() -> set[str]:
    if not os.path.exists(EXCEPTIONS_FILE):
        return set()
    with open(EXCEPTIONS_FILE) as f:
        return {line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")}


IMPORT_RESULTS = get_import_errors()


@pytest.mark.parametrize(("rel_path", "rv"), IMPORT_RESULTS, ids=[path for path, _ in IMPORT_RESULTS])
def test_file_imports(rel_path: str, rv: str) -> None:
    """A DAG file must import without errors, unless it is listed in the exceptions file."""
    if rv != NO_IMPORT_ERRORS and rel_path not in read_exceptions():
        raise Exception(f"{rel_path} failed to import with message \n {rv}")
    print(f"{rel_path} passed the import test")
