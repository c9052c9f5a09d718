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
    assert (
        f"{ROOT / 'include' / 'pipelines' / 'flights_delay.yaml'}: validation.suite:"
        in capsys.readouterr().err
    )


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
    from airflow_mlops.core.foundation import tracking

    tracking.log_to_stdout()
    try:
        assert main(["status", "--json"]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out) and "Creating initial MLflow database tables" in err
    finally:
        tracking.keep_stdout_clean()


def flights_with(tmp_path: Path, change, name: str = "flights_delay") -> Path:
    """The shipped flights pipeline with ``change`` applied, written as ``name``.yaml."""
    import yaml

    d = yaml.safe_load((ROOT / "include" / "pipelines" / "flights_delay.yaml").read_text())
    d["name"] = name
    change(d)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d))
    return path


@pytest.mark.parametrize(
    ("estimator", "problem"),
    [
        (
            "sklearn.ensemble.NoSuchForest",
            "model.estimator: 'sklearn.ensemble.NoSuchForest' is not a scikit-learn classifier",
        ),
        ("collections.OrderedDict", "model.estimator: 'collections.OrderedDict' is outside the packages"),
        (
            "os.system",
            "model.estimator: 'os.system' is outside the packages a pipeline may use (scikit-learn)",
        ),
        (
            "sklearn.preprocessing.StandardScaler",
            "model.estimator: 'sklearn.preprocessing.StandardScaler' is not a scikit-learn classifier",
        ),
        (
            "sklearn.linear_model.Ridge",
            "model.estimator: 'sklearn.linear_model.Ridge' is a scikit-learn regressor, but schema.task is classification",
        ),
        (
            "sklearn.ensemble.VotingClassifier",
            "model.estimator: 'sklearn.ensemble.VotingClassifier' needs constructor argument(s) ['estimators']",
        ),
        (
            "sklearn.ensemble._forest.RandomForestClassifier",
            "model.estimator: 'sklearn.ensemble._forest.RandomForestClassifier' is not a scikit-learn classifier "
            "(a public class that fits and predicts); did you mean sklearn.ensemble.RandomForestClassifier?",
        ),
    ],
)
def test_check_refuses_estimators_before_importing_them(
    home: Path, tmp_path: Path, capsys, estimator, problem
) -> None:
    """An estimator that does not exist, is not one, is of the wrong kind or lies outside the allowed
    packages fails `check` naming the file and the field, not the first training."""
    path = flights_with(tmp_path, lambda d: d["model"].update(estimator=estimator, params={}))
    assert main(["check", str(path)]) == 1
    assert f"{path}: {problem}" in capsys.readouterr().err


def test_check_never_imports_a_module_outside_the_allowed_packages(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A module with a side effect at import is named, refused and never run, by its own path or
    as a search candidate; allowed by the deployment setting, it is imported and judged."""
    code = tmp_path / "code"
    code.mkdir()
    marker = tmp_path / "ran.marker"
    (code / "side_effects.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\nclass Model:\n    def fit(self): pass\n"
    )
    monkeypatch.syspath_prepend(str(code))
    fixed = flights_with(tmp_path, lambda d: d["model"].update(estimator="side_effects.Model", params={}))
    searched = flights_with(
        tmp_path,
        lambda d: d.update(model={"search": {"candidates": [{"estimator": "side_effects.Model"}]}}),
        name="searched",
    )
    assert main(["check", str(fixed), str(searched)]) == 1
    err = capsys.readouterr().err
    assert f"{fixed}: model.estimator: 'side_effects.Model' is outside the packages" in err
    assert f"{searched}: model.search.candidates[0].estimator: 'side_effects.Model' is outside" in err
    assert not marker.exists()
    monkeypatch.setenv("AIRFLOW_MLOPS_ALLOWED_ESTIMATOR_PACKAGES", "lightgbm, side_effects")
    assert main(["check", str(fixed)]) == 1
    assert f"{fixed}: model.estimator: 'side_effects.Model' is not a scikit-learn estimator" in (
        capsys.readouterr().err
    )
    assert marker.exists()


def test_check_refuses_parameter_values_training_would_refuse(home: Path, tmp_path: Path, capsys) -> None:
    for params, problem in (
        (
            {"max_iter": -5},
            "model.params: The 'max_iter' parameter of HistGradientBoostingClassifier must be",
        ),
        ({"learning_rate": "fast"}, "model.params: The 'learning_rate' parameter"),
        ({"depth": 3}, "model.params: ['depth'] are not parameters of HistGradientBoostingClassifier"),
    ):
        path = flights_with(tmp_path, lambda d, p=params: d["model"].update(params=p))
        assert main(["check", str(path)]) == 1
        assert f"{path}: {problem}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("field", "cron", "problem"),
    [
        ("ingest", "99 99 * * *", "is not a valid cron expression"),
        ("ingest", "a b c d e", "is not a valid cron expression"),
        ("train", "@sometimes", "is not a preset Airflow knows"),
        ("ingest", "@once", "is not a preset Airflow knows"),
        ("train", "0 0 * * * *", "has 6 field(s); a cron expression has 5"),
        ("ingest", "0 0 31 2 *", "never fires"),
        ("train", "*/0 * * * *", "is not a valid cron expression"),
        ("ingest", "60 * * * *", "is not a valid cron expression"),
        ("ingest", " @daily", "is not a preset Airflow knows"),
        ("train", "0 6 * *", "has 4 field(s); a cron expression has 5"),
    ],
)
def test_check_refuses_cron_strings_airflow_would_reject(
    home: Path, tmp_path: Path, capsys, field, cron, problem
) -> None:
    path = flights_with(tmp_path, lambda d: d["schedules"].update({field: cron}))
    assert main(["check", str(path)]) == 1
    assert f"{path}: schedules.{field}: {cron!r} {problem}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["gate"].update(metric="roc_aux"), "gate.metric: unknown metric 'roc_aux'"),
        (lambda d: d["gate"].update(metric="rmse"), "gate.metric: 'rmse' is a regression metric"),
        (lambda d: d.update(metrics=["roc_auc", "acuracy"]), "metrics: unknown metric 'acuracy'"),
        (
            lambda d: d["features"]["numeric"].append("carrier"),
            "features.numeric: 'carrier' is a category column",
        ),
        (
            lambda d: d["features"]["numeric"].append("time_hour"),
            "features.numeric: 'time_hour' is a datetime column",
        ),
        (
            lambda d: d["gate"].update(minimum=2.0),
            "gate.minimum: 2.0 is outside the range of roc_auc, [0, 1]",
        ),
        (lambda d: d["schedules"].update(end_date="2012-01-01"), "schedules.end_date: 2012-01-01 is before"),
        (
            lambda d: d["schema"].update(target="arr_delay", row_filter=None),
            "schema.target: a classification target must be bool, int, string, category, not float",
        ),
        (
            lambda d: d["schema"].update(target="time_hour", time_column=None),
            "schema.target: a classification target must be bool, int, string, category, not datetime",
        ),
        (lambda d: d.update(tags=["x" * 101]), "tags[0]: longer than 100 characters"),
        (
            lambda d: d["tasks"].update(timeout_minutes=1e20),
            "tasks.timeout_minutes: Input should be less than or equal to 43200",
        ),
    ],
)
def test_check_names_the_field_at_fault(home: Path, tmp_path: Path, capsys, change, problem) -> None:
    path = flights_with(tmp_path, change)
    assert main(["check", str(path)]) == 1
    assert f"{path}: {problem}" in capsys.readouterr().err


def test_check_counts_problems_and_files(home: Path, tmp_path: Path, capsys) -> None:
    two = flights_with(tmp_path, lambda d: d["gate"].update(minimum=-1.0, min_improvement=1.5), name="two")
    one = flights_with(tmp_path, lambda d: d["schedules"].update(ingest="a b c d e"), name="one")
    good = ROOT / "include" / "pipelines" / "credit_default.yaml"
    assert main(["check", str(two), str(one), str(good)]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "3 problem(s) in 2 file(s)"
    assert len(err.strip().splitlines()) == 3
    assert f"{two}: gate.minimum: -1.0 is outside the range of roc_auc" in err
    assert f"{two}: gate.min_improvement: 1.5 is larger than any difference of two roc_auc scores" in err


@pytest.mark.parametrize("state", ["missing", "empty", "no such file"])
def test_check_with_nothing_to_check_fails(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, state
) -> None:
    folder = tmp_path / "pipelines"
    if state != "missing":
        folder.mkdir()
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(folder))
    argv = ["check", str(folder / "typo.yaml")] if state == "no such file" else ["check"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "ok" not in out and "1 problem(s) in 1 file(s)" in out
    expected = {
        "missing": f"{folder}: pipelines folder does not exist",
        "empty": f"{folder}: no pipeline files (*.yaml)",
        "no such file": f"{folder / 'typo.yaml'}: no such file",
    }[state]
    assert expected in err


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
        f"{path}: model.search.candidates[1].estimator: 'sklearn.ensemble.NoSuchForest' is not a "
        "scikit-learn classifier" in err
    )
    del d["model"]["search"]["candidates"][1]
    d["model"]["search"]["candidates"][0]["params"] = {"C": {"low": 0.1, "high": 10, "log": True}}
    path.write_text(yaml.safe_dump(d))
    assert main(["check", str(path)]) == 0
    d["model"]["search"]["minutes"] = 0
    path.write_text(yaml.safe_dump(d))
    assert main(["check", str(path)]) == 1
    assert f"{path}: model.search.minutes: Input should be greater than 0" in capsys.readouterr().err


def test_card_prints_the_stored_card_of_a_version(fresh_world: World, capsys) -> None:
    """`card` reaches the same store as the tasks and prints what training and the gate wrote (a
    registry of its own: in the shared one a rollback may have restored the champion)."""
    v = fresh_world.champion()
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
    assert "no pipeline named 'no_such_pipeline' (valid pipelines: " in capsys.readouterr().err


# --- rollback, against a real local MLflow store ---------------------------------------------------
def test_rollback_restores_the_previous_champion_and_records_who_and_why(world, capsys) -> None:
    import getpass

    from airflow_mlops.core.foundation import registry
    from airflow_mlops.core.foundation.registry import Tag
    from airflow_mlops.core.model.promote import promote
    from airflow_mlops.core.model.train import train
    from tests.unit.conftest import JAN

    cfg, lake, client = world.cfg, world.lake, world.client
    name = cfg.registered_model_name
    first = world.champion()
    six = train(cfg, lake, client, run_key="cli/6", end_ds=JAN[-1], window_days=6, force=True).version
    assert promote(cfg, lake, client, six).promoted

    assert main(["rollback", "flights_delay", "--reason", "bad predictions in ops", "--by", "alice"]) == 0
    out = capsys.readouterr().out
    assert f"champion {name} v{six} -> v{first} (rolled back by alice at " in out, out
    assert str(registry.ModelRegistry(client, name).champion().version) == first
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
    assert str(registry.ModelRegistry(client, name).champion().version) == first

    # --to a version that was champion once; `by` defaults to the OS user.
    assert main(["rollback", "flights_delay", "--to", six, "--reason", "fixed upstream", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["from_version"], done["to_version"], done["by"]) == (first, six, getpass.getuser())
    assert str(registry.ModelRegistry(client, name).champion().version) == six


def test_rollback_refuses_bad_input_and_leaves_the_champion(world, capsys) -> None:
    from airflow_mlops.core.foundation import registry
    from airflow_mlops.core.model.promote import promote
    from airflow_mlops.core.model.train import train
    from tests.unit.conftest import JAN

    cfg, lake, client = world.cfg, world.lake, world.client
    name = cfg.registered_model_name
    world.champion()
    champion = str(registry.ModelRegistry(client, name).champion().version)
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
        assert str(registry.ModelRegistry(client, name).champion().version) == champion
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


def test_check_refuses_drift_methods_the_report_would_refuse(home: Path, tmp_path: Path, capsys) -> None:
    """Unknown names and methods of the wrong column kind, each named: the drift task would fail."""

    def change(d: dict) -> None:
        d["drift"]["per_column"]["dep_delay"]["method"] = "no_such_test"
        d["drift"]["per_column"]["carrier"]["method"] = "wasserstein"
        d["drift"]["per_column"]["origin"]["method"] = "ks"

    path = flights_with(tmp_path, change)
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"{path}: drift.per_column.dep_delay.method 'no_such_test' cannot test the numerical" in err
    assert f"{path}: drift.per_column.carrier.method 'wasserstein' cannot test the categorical" in err
    assert f"{path}: drift.per_column.origin.method 'ks' cannot test the categorical" in err
    assert out.strip() == "3 problem(s) in 1 file(s)"


def test_status_creates_no_mlflow_database(home: Path, capsys) -> None:
    """A read command leaves the state as it found it: no registry before, none after."""
    from airflow_mlops.core.foundation.settings import get_settings

    db = Path(get_settings().mlflow_tracking_uri.removeprefix("sqlite:///"))
    assert not db.exists()
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["champion"] is None
    assert not db.exists() and not db.parent.exists()
