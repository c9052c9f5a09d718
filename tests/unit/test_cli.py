"""The airflow-mlops command: check and status, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_mlops.cli import main
from tests.unit.conftest import World

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_check_passes_on_the_shipped_pipelines(home: Path, capsys) -> None:
    assert main(["check"]) == 0
    assert "ok: credit_default, diabetes_progression, flights_delay" in capsys.readouterr().out


def test_check_names_every_problem(home: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\nsource: {uri: 'file:///raw/{ds}.csv', colour: red}\n")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: source.colour: unknown field" in err and f"{bad}: gate: Field required" in err


def test_check_loads_the_suite(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("AIRFLOW_MLOPS_EXPECTATIONS_DIR", str(tmp_path))
    (tmp_path / "flights_delay.json").write_text("{not json")
    assert main(["check", str(ROOT / "include" / "pipelines" / "flights_delay.yaml")]) == 1
    assert "flights_delay: validation.suite:" in capsys.readouterr().err


def test_status_before_anything_ran(home: Path, capsys) -> None:
    assert main(["status", "--json"]) == 0
    rows = {r["pipeline"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["flights_delay"]["champion"] is None and rows["flights_delay"]["batches"] == 0
    assert main(["status", "flights_delay"]) == 0
    assert "champion:        none yet" in capsys.readouterr().out
    assert main(["status", "no_such_pipeline"]) == 2


def test_status_json_stays_clean_after_a_task_sent_mlflow_logs_to_stdout(home: Path, capsys) -> None:
    """A task in the same process (a test session, ``dag.test``) sends MLflow's lines to stdout;
    the CLI's JSON must still parse: MLflow creates its database here and says so, on stderr."""
    from airflow_mlops.core import tracking

    tracking.log_to_stdout()
    try:
        assert main(["status", "--json"]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out) and "Creating initial MLflow database tables" in err
    finally:
        tracking.keep_stdout_clean()


def test_check_builds_the_estimator(home: Path, tmp_path: Path, capsys) -> None:
    """An estimator that does not exist, or is not one, fails `check`, not the first training."""
    import yaml

    for estimator, problem in (
        ("sklearn.ensemble.NoSuchForest", "cannot import 'sklearn.ensemble.NoSuchForest'"),
        ("collections.OrderedDict", "'collections.OrderedDict' is not a scikit-learn estimator"),
    ):
        d = yaml.safe_load((ROOT / "include" / "pipelines" / "flights_delay.yaml").read_text())
        d["model"]["estimator"] = estimator
        path = tmp_path / "flights_delay.yaml"
        path.write_text(yaml.safe_dump(d))
        assert main(["check", str(path)]) == 1
        assert f"flights_delay: model.estimator: {problem}" in capsys.readouterr().err


def test_check_explains_search_errors_by_file_and_field(home: Path, tmp_path: Path, capsys) -> None:
    """model.search: a candidate's unknown estimator or parameter is found by `check`, naming the
    file and the field; a valid search passes."""
    import yaml

    d = yaml.safe_load((ROOT / "include" / "pipelines" / "flights_delay.yaml").read_text())
    d["model"] = {
        "search": {
            "candidates": [
                {
                    "estimator": "sklearn.linear_model.LogisticRegression",
                    "params": {"C": [1.0], "depth": [3]},
                },
                {"estimator": "sklearn.ensemble.NoSuchForest"},
            ],
            "trials": 4,
        }
    }
    path = tmp_path / "flights_delay.yaml"
    path.write_text(yaml.safe_dump(d))
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert (
        f"{path}: model.search.candidates[0].params: ['depth'] are not parameters of LogisticRegression"
        in err
    )
    assert (
        f"{path}: model.search.candidates[1].estimator: cannot import 'sklearn.ensemble.NoSuchForest'" in err
    )
    del d["model"]["search"]["candidates"][1]
    d["model"]["search"]["candidates"][0]["params"] = {"C": {"low": 0.1, "high": 10, "log": True}}
    path.write_text(yaml.safe_dump(d))
    assert main(["check", str(path)]) == 0
    d["model"]["search"]["minutes"] = 0
    path.write_text(yaml.safe_dump(d))
    assert main(["check", str(path)]) == 1
    assert f"{path}: model.search.minutes: Input should be greater than 0" in capsys.readouterr().err


def test_card_prints_the_stored_card_of_a_version(world: World, capsys) -> None:
    """`card` reaches the same store as the tasks and prints what training and the gate wrote."""
    v = world.champion()
    capsys.readouterr()
    assert main(["card", "flights_delay", v]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# Model card: flights_delay v{v}\n") and "**State: champion**" in out
    assert main(["card", "flights_delay", v, "--html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "<strong>State: champion</strong>" in page
    assert main(["card", "flights_delay", "9999"]) == 2
    assert "flights_delay v9999: no model card" in capsys.readouterr().err
    assert main(["card", "no_such_pipeline", v]) == 2
    assert "no pipeline named no_such_pipeline" in capsys.readouterr().err


# --- rollback, against a real local MLflow store ---------------------------------------------------
def test_rollback_restores_the_previous_champion_and_records_who_and_why(world, capsys) -> None:
    import getpass

    from airflow_mlops.core import registry
    from airflow_mlops.core.promote import promote
    from airflow_mlops.core.registry import Tag
    from airflow_mlops.core.train import train
    from tests.unit.conftest import JAN

    cfg, lake, client = world.cfg, world.lake, world.client
    name = cfg.registered_model_name
    first = world.champion()
    six = train(cfg, lake, client, run_key="cli/6", end_ds=JAN[-1], window_days=6, force=True).version
    assert promote(cfg, lake, client, six).promoted

    assert main(["rollback", "flights_delay", "--reason", "bad predictions in ops", "--by", "alice"]) == 0
    out = capsys.readouterr().out
    assert f"champion {name} v{six} -> v{first} (rolled back by alice at " in out, out
    assert str(registry.champion(client, name).version) == first
    gone = registry.tags_of(client.get_model_version(name, six))
    back = registry.tags_of(client.get_model_version(name, first))
    assert gone[f"{Tag.ROLLBACK_PREFIX}rolled_back.by"] == "alice"
    assert gone[f"{Tag.ROLLBACK_PREFIX}rolled_back.reason"] == "bad predictions in ops"
    assert back[f"{Tag.ROLLBACK_PREFIX}restored.by"] == "alice"
    assert back[f"{Tag.ROLLBACK_PREFIX}restored.other"] == six

    # The first model replaced nobody: a second rollback has nowhere to go unless told.
    assert main(["rollback", "flights_delay", "--reason", "again"]) == 2
    assert (
        f"{name} v{first}: no previous champion recorded; name a version with --to" in capsys.readouterr().err
    )
    assert str(registry.champion(client, name).version) == first

    # --to a version that was champion once; `by` defaults to the OS user.
    assert main(["rollback", "flights_delay", "--to", six, "--reason", "fixed upstream", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["from_version"], done["to_version"], done["by"]) == (first, six, getpass.getuser())
    assert str(registry.champion(client, name).version) == six


def test_rollback_refuses_bad_input_and_leaves_the_champion(world, capsys) -> None:
    from airflow_mlops.core import registry
    from airflow_mlops.core.promote import promote
    from airflow_mlops.core.train import train
    from tests.unit.conftest import JAN

    cfg, lake, client = world.cfg, world.lake, world.client
    name = cfg.registered_model_name
    world.champion()
    champion = str(registry.champion(client, name).version)
    # A candidate the gate refused (an unreachable minimum) can never be restored as champion.
    strict = cfg.model_copy(update={"gate": cfg.gate.model_copy(update={"minimum": 0.999})})
    worse = train(strict, lake, client, run_key="cli/bad", end_ds=JAN[-1], window_days=2, force=True).version
    assert not promote(strict, lake, client, worse).promoted
    capsys.readouterr()  # MLflow's own chatter while training

    cases = [
        (["no_such_pipeline"], "no pipeline named 'no_such_pipeline' (valid pipelines: "),
        (["flights_delay", "--to", worse], f"{name} v{worse}: was never champion (it never passed the gate)"),
        (["flights_delay", "--to", "999"], f"{name}: there is no version '999'"),
        (["flights_delay", "--to", "v2"], "a version to roll back to is a number, not 'v2'"),
        (["flights_delay", "--to", champion], f"{name}: v{champion} is already the champion"),
        (["flights_delay", "--reason", " "], f"{name}: a rollback needs a reason"),
    ]
    for args, message in cases:
        argv = ["rollback", *args] if "--reason" in args else ["rollback", *args, "--reason", "test"]
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, (argv, err)
        assert str(registry.champion(client, name).version) == champion
    with pytest.raises(SystemExit) as exit_:
        main(["rollback", "flights_delay"])  # --reason is required
    assert exit_.value.code == 2 and "--reason" in capsys.readouterr().err


def test_check_explains_sql_source_errors_by_file_and_field(home: Path, tmp_path: Path, capsys) -> None:
    """A SQL source (issue 11) passes check without a database; its mistakes are named by field."""
    import yaml

    d = yaml.safe_load((ROOT / "include" / "pipelines" / "credit_default.yaml").read_text())
    d["source"] = {"sql": {"conn_id": "credit_db", "table": "customers", "interval_column": "exported_at"}}
    good = tmp_path / "credit_default.yaml"
    good.write_text(yaml.safe_dump(d))
    assert main(["check", str(good)]) == 0
    assert "ok: credit_default" in capsys.readouterr().out
    d["source"] = {
        "uri": "file:///raw/{ds}.csv",
        "sql": {"conn_id": "db", "query": "SELECT 1 WHERE %(start)s"},
    }
    good.write_text(yaml.safe_dump(d))
    assert main(["check", str(good)]) == 1
    err = capsys.readouterr().err
    assert f"{good}: source.sql.query: unknown parameter(s) ['start']" in err
