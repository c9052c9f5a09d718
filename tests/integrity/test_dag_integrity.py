"""Every DAG file imports cleanly, every DAG is tagged, every task retries and has a timeout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "sklearn", "mlflow", "great_expectations", "evidently", "pyarrow")
PARSED = sorted(str(p.relative_to(ROOT)) for p in [*ROOT.glob("dags/*.py"), *ROOT.glob("plugins/*.py")])


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) >= 6


def test_every_dag_is_tagged_and_every_task_retries(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert "airflow-mlops" in dag.tags
        for t in dag.tasks:
            assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"
            assert t.execution_timeout is not None, f"{dag_id}.{t.task_id} has no timeout"


def test_train_dags_run_one_at_a_time_and_params_match_the_api_guard(dagbag) -> None:
    from airflow_mlops.plugin.conf_guard import allowed_params

    for dag_id, dag in dagbag.dags.items():
        assert set(dag.params) == allowed_params(dag_id), f"{dag_id}: Params and the API guard disagree"
        if dag_id.endswith("__train"):
            assert dag.max_active_runs == 1


@pytest.mark.parametrize("path", PARSED)
def test_parse_cost(path: str) -> None:
    """Importing a file Airflow parses pulls in no heavy library (checked in a fresh interpreter)."""
    code = (
        "import importlib.util, sys, json\n"
        f"sys.path[:0] = [{str(ROOT / 'dags')!r}, {str(ROOT / 'plugins')!r}]\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(ROOT / path)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", f"{path} imports {out.stdout.strip()}"


def test_a_malformed_config_is_an_import_error_naming_file_and_field(
    airflow_db, tmp_path, monkeypatch
) -> None:
    import shutil

    from airflow.dag_processing.dagbag import DagBag

    for f in (ROOT / "include" / "pipelines").glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    broken = tmp_path / "flights_delay.yaml"
    broken.write_text(broken.read_text().replace("min_improvement: 0.0", "min_improvment: 0.0"))
    raw_before = broken.read_text()
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path))
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert len(bag.import_errors) == 1
    message = next(iter(bag.import_errors.values()))
    assert f"{broken}: gate.min_improvment: unknown field" in message
    assert broken.read_text() == raw_before
