"""Every DAG file imports cleanly, every DAG is tagged, every task retries and has a timeout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "sklearn", "mlflow", "great_expectations", "evidently", "pyarrow")
PARSED = sorted(str(p.relative_to(ROOT)) for p in [*ROOT.glob("dags/*.py"), *ROOT.glob("plugins/*.py")])


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
        if dag_id.endswith("__ingest"):
            # Concurrent ingest runs; their validations, which emit through an AssetAlias, one at a time.
            assert dag.get_task("validate").max_active_tis_per_dag == 1


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


def _variant(folder: Path, name: str, change) -> Path:
    """A copy of the flights pipeline named ``name`` with ``change`` applied to its data."""
    import yaml

    d = yaml.safe_load((ROOT / "include" / "pipelines" / "flights_delay.yaml").read_text())
    d["name"] = name
    change(d)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_bad_pipeline_files_are_import_errors_and_spare_the_good_ones(
    airflow_db, tmp_path, monkeypatch
) -> None:
    """Several kinds of bad file beside good ones, in a real DagBag (what the UI shows): the good
    pipelines' DAGs are all there; one import error, of mlops_config_errors.py, names each bad file
    and field; no estimator module outside the allowed packages was imported; no file changed."""
    import shutil

    from airflow.dag_processing.dagbag import DagBag

    pipelines, code = tmp_path / "pipelines", tmp_path / "code"
    pipelines.mkdir()
    code.mkdir()
    marker = tmp_path / "imported.marker"
    side_effect = f"open({str(marker)!r}, 'w').write('ran')\nclass Model:\n    pass\n"
    (code / "evil_models.py").write_text(side_effect)
    (code / "trusted_models.py").write_text(side_effect.replace("imported", "trusted"))
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.setenv("AIRFLOW_MLOPS_ALLOWED_ESTIMATOR_PACKAGES", "trusted_models")
    for f in ("credit_default.yaml", "diabetes_progression.yaml"):
        shutil.copy(ROOT / "include" / "pipelines" / f, pipelines / f)
    broken = shutil.copy(
        ROOT / "include" / "pipelines" / "flights_delay.yaml", pipelines / "flights_delay.yaml"
    )
    broken.write_text(broken.read_text().replace("min_improvement: 0.0", "min_improvment: 0.0"))
    bad = {
        broken: "gate.min_improvment: unknown field",
        _variant(pipelines, "cron_bad", lambda d: d["schedules"].update(ingest="99 99 * * *")): (
            "schedules.ingest: '99 99 * * *' is not a valid cron expression"
        ),
        _variant(pipelines, "evil", lambda d: d["model"].update(estimator="evil_models.Model")): (
            "model.estimator: 'evil_models.Model' is outside the packages a pipeline may use"
        ),
        _variant(pipelines, "not_estimator", lambda d: d["model"].update(estimator="trusted_models.Model")): (
            "model.estimator: 'trusted_models.Model' is not a scikit-learn estimator"
        ),
        _variant(pipelines, "auc_two", lambda d: d["gate"].update(minimum=2.0)): (
            "gate.minimum: 2.0 is outside the range of roc_auc, [0, 1]"
        ),
    }
    bomb = pipelines / "bomb.yaml"
    bomb.write_text(BOMB)
    bad[bomb] = "line 5: expands to more than 20000 values (YAML aliases repeating aliases)"
    before = {p: p.read_text() for p in pipelines.iterdir()}
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(pipelines))
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert set(bag.dag_ids) == {
        f"{p}__{k}"
        for p in ("credit_default", "diabetes_progression")
        for k in ("ingest", "monitor", "train", "rollback")
    }
    assert list(bag.import_errors) == [str(ROOT / "dags" / "mlops_config_errors.py")]
    message = next(iter(bag.import_errors.values()))
    for path, problem in bad.items():
        assert f"{path}: {problem}" in message
    assert "6 problem(s) in 6 pipeline file(s)" in message
    assert not marker.exists()  # evil_models was refused unread
    assert (tmp_path / "trusted.marker").exists()  # an allowed package is imported to be judged
    assert {p: p.read_text() for p in pipelines.iterdir()} == before


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_a_missing_or_empty_pipelines_folder_is_an_import_error(
    airflow_db, tmp_path, monkeypatch, state
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    folder = tmp_path / "pipelines"
    if state == "empty":
        folder.mkdir()
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(folder))
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.dag_ids == []
    message = bag.import_errors[str(ROOT / "dags" / "mlops_config_errors.py")]
    expected = "pipelines folder does not exist" if state == "missing" else "no pipeline files (*.yaml)"
    assert f"{folder}: {expected}" in message
