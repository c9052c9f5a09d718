"""model.search: the config's errors, the plan, the time-ordered folds, the budget, and a whole search
(plan -> trials as nested MLflow runs -> the winner trained and registered) on real flights.

No Airflow here: these are the core functions the plan, trial and train tasks call.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.config import PipelineConfig, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError, DataNotFoundError
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model import search, trials
from airflow_mlops.core.model.training_data import load_window
from tests.conftest import PIPELINES
from tests.unit.conftest import JAN, World
from tests.unit.core.conftest import hash_before_later_fields

pytestmark = pytest.mark.unit
FLIGHTS = PIPELINES / "flights_delay.yaml"
LOGREG = "sklearn.linear_model.LogisticRegression"
HGB = "sklearn.ensemble.HistGradientBoostingClassifier"
SEARCH: dict[str, Any] = {
    "candidates": [
        {"estimator": LOGREG, "params": {"C": {"low": 0.01, "high": 10.0, "log": True}, "max_iter": [300]}},
        {"estimator": HGB, "params": {"max_iter": [10, 20], "learning_rate": [0.1, 0.3]}},
    ],
    "trials": 4,
    "minutes": 30,
    "folds": 3,
}


def yaml_with(model: dict[str, Any], source: str = "x.yaml") -> PipelineConfig:
    d = yaml.safe_load(FLIGHTS.read_text())
    d["model"] = model
    return parse_pipeline(yaml.safe_dump(d), source)


def refused(model: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as e:
        yaml_with(model, "pipelines/x.yaml")
    return str(e.value)


def searched(cfg: PipelineConfig, **change: Any) -> PipelineConfig:
    """``cfg`` with SEARCH (changed by ``change``) instead of its fixed model, validated as YAML is."""
    d = cfg.model_dump(mode="json", by_alias=True)
    d["model"] = {"search": {**SEARCH, **change}, "max_categories": cfg.model.max_categories}
    return PipelineConfig.model_validate(d)


# --- the config ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            {"estimator": LOGREG, "search": SEARCH},
            "pipelines/x.yaml: model: estimator and search exclude each other",
        ),
        (
            {"params": {"C": 1}, "search": SEARCH},
            "pipelines/x.yaml: model: params and search exclude each other",
        ),
        ({"params": {"C": 1}}, "pipelines/x.yaml: model: estimator: required (or model.search"),
        (
            {"search": {**SEARCH, "trials": 0}},
            "pipelines/x.yaml: model.search.trials: Input should be greater than or equal to 1",
        ),
        (
            {"search": {**SEARCH, "minutes": 0}},
            "pipelines/x.yaml: model.search.minutes: Input should be greater than 0",
        ),
        (
            {"search": {**SEARCH, "folds": 1}},
            "pipelines/x.yaml: model.search.folds: Input should be greater than or equal to 2",
        ),
        ({"search": {**SEARCH, "candidates": []}}, "pipelines/x.yaml: model.search.candidates: List should"),
        (
            {"search": {"candidates": [{"estimator": LOGREG, "params": {"C": []}}]}},
            "model.search.candidates[0].params: C: the list of choices is empty",
        ),
        (
            {"search": {"candidates": [{"estimator": LOGREG, "params": {"C": {"low": 2, "high": 1}}}]}},
            "model.search.candidates[0].params: C: low (2.0) must be below high (1.0)",
        ),
        (
            {
                "search": {
                    "candidates": [{"estimator": LOGREG, "params": {"C": {"low": 0, "high": 1, "log": True}}}]
                }
            },
            "model.search.candidates[0].params: C: log: true needs low > 0",
        ),
        (
            {"search": {"candidates": [{"estimator": LOGREG, "params": {"C": {"low": 1, "hi": 2}}}]}},
            "model.search.candidates[0].params: C: high: Field required; hi: Extra inputs",
        ),
        (
            {"search": {"candidates": [{"estimator": LOGREG, "params": {"C": 1.0}}]}},
            "model.search.candidates[0].params: C: 1.0 is not a space; give a list of choices",
        ),
        (
            {"search": {"candidates": [{"estimator": "LogisticRegression"}]}},
            "model.search.candidates[0].estimator: must be an import path",
        ),
        (
            {"search": {**SEARCH, "trails": 3}},
            "pipelines/x.yaml: model.search.trails: unknown field",
        ),
    ],
)
def test_bad_searches_are_refused_naming_file_and_field(model: dict[str, Any], expected: str) -> None:
    assert expected in refused(model)


def test_the_fixed_form_stays_valid_and_keeps_its_hash() -> None:
    cfg = parse_pipeline(FLIGHTS.read_text(), "a")
    assert cfg.model.search is None and cfg.model.estimators == [HGB]
    assert cfg.config_hash == hash_before_later_fields(cfg)
    with_search = yaml_with({"search": SEARCH})
    assert with_search.config_hash != cfg.config_hash
    assert with_search.model.estimators == [LOGREG, HGB]


def test_unknown_estimators_and_parameters_are_refused_at_parse_time_and_by_check_candidates() -> None:
    """The parse refuses both candidates, each on its own line naming its field, before anything is
    imported; check_candidates (run at plan time) still names them on a config copied unchecked."""
    bad = {
        "search": {
            "candidates": [
                {"estimator": LOGREG, "params": {"C": [1.0], "depth": [2]}},
                {"estimator": "sklearn.linear_model.NoSuchModel"},
            ]
        }
    }
    lines = refused(bad).splitlines()
    assert lines[0].startswith("pipelines/x.yaml: model.search.candidates[0].params: ['depth'] are not")
    assert lines[1].startswith(
        "pipelines/x.yaml: model.search.candidates[1].estimator: 'sklearn.linear_model.NoSuchModel' "
        "is not a scikit-learn classifier"
    )
    good = yaml_with({"search": SEARCH})
    assert good.model.search is not None
    unchecked = good.model.search.model_copy(
        update={
            "candidates": [
                good.model.search.candidates[0].model_copy(update={"params": {"C": [1.0], "depth": [2]}}),
                good.model.search.candidates[0].model_copy(
                    update={"estimator": "sklearn.linear_model.NoSuchModel"}
                ),
            ]
        }
    )
    cfg = good.model_copy(update={"model": good.model.model_copy(update={"search": unchecked})})
    errors = search.check_candidates(cfg)
    assert len(errors) == 2
    assert errors[0].startswith(
        "flights_delay: model.search.candidates[0].params: ['depth'] are not parameters"
    )
    assert "model.search.candidates[1].estimator: 'sklearn.linear_model.NoSuchModel' is not a" in errors[1]
    assert search.check_candidates(good) == []


# --- a whole search on real flights ----------------------------------------------------------------
def test_a_search_logs_nested_trials_and_registers_the_winner(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_mlops.core.model import model_card, modeling

    cfg, lake, client = searched(world.cfg), world.lake, world.client
    run_key = "flights_delay__train/search_1"
    planned = search.plan(cfg, lake, client, run_key=run_key, end_ds=JAN[-1]).to_dict()
    assert not planned["skipped"] and planned["window"] == JAN and len(planned["trials"]) == 4
    again = search.plan(cfg, lake, client, run_key=run_key, end_ds=JAN[-1]).to_dict()
    assert again["parent_run_id"] == planned["parent_run_id"] and again["deadline"] == planned["deadline"]

    # Every row a fold fits or scores on comes before the held-out part the gate uses.
    seen: list[int] = []
    real = modeling.build_pipeline

    def recording(c: PipelineConfig) -> Any:
        p = real(c)
        fit, proba = p.fit, p.predict_proba
        p.fit = lambda X, y: (seen.append(int(X.index.max())), fit(X, y))[1]  # type: ignore[method-assign]
        p.predict_proba = lambda X: (seen.append(int(X.index.max())), proba(X))[1]  # type: ignore[method-assign]
        return p

    monkeypatch.setattr(modeling, "build_pipeline", recording)
    results = [trials.run_trial(cfg, lake, client, planned, t) for t in planned["trials"]]
    monkeypatch.undo()
    assert all(r.status == "done" and r.score is not None for r in results), results
    rows, _ = load_window(cfg, world.catalog, JAN)
    cut = int(len(rows) * (1 - cfg.split.test_fraction))
    assert seen and max(seen) < cut and len(seen) == 4 * 3 * 2

    nested = [client.get_run(r.run_id) for r in results]
    assert {n.data.tags["mlflow.parentRunId"] for n in nested} == {planned["parent_run_id"]}
    assert all(n.info.status == "FINISHED" for n in nested)
    assert [n.data.params["estimator"] for n in nested] == [t["estimator"] for t in planned["trials"]]
    assert trials.run_trial(cfg, lake, client, planned, planned["trials"][0]).run_id == results[0].run_id

    res, rec = search.train_winner(cfg, lake, client, planned, run_key=run_key, reason="search test")
    win = trials.best(results, higher_is_better=True)
    assert win is not None and rec["winner"]["trial"] == win.index
    assert res.run_id == planned["parent_run_id"], "the version's training is the search's run"
    run = client.get_run(res.run_id)
    assert run.data.params["estimator"] == win.estimator
    assert {
        k.removeprefix("model."): json.loads(v) for k, v in run.data.params.items() if k.startswith("model.")
    } == win.params
    assert res.version is not None
    tags = registry.tags_of(client.get_model_version(cfg.registered_model_name, res.version))
    assert tags[Tag.ESTIMATOR] == win.estimator and tags[Tag.CONFIG_HASH] == cfg.config_hash
    assert [t["status"] for t in json.loads(tags[Tag.SEARCH])["trials"]] == ["done"] * 4
    card = model_card.read_card(client, cfg.registered_model_name, res.version)
    assert card is not None and "## Search" in card and f"| {win.index} (winner) |" in card
    assert f"`{win.estimator}`" in card

    # The same Airflow run again reuses the version instead of registering a second one.
    again_res, _ = search.train_winner(cfg, lake, client, planned, run_key=run_key)
    assert again_res.reused and again_res.version == res.version


def test_trials_not_started_before_the_deadline_are_skipped_and_not_logged(world: World) -> None:
    cfg, lake, client = searched(world.cfg, minutes=1), world.lake, world.client
    start = datetime(2026, 1, 1, tzinfo=UTC)
    planned = search.plan(
        cfg, lake, client, run_key="t/budget", end_ds=JAN[-1], force=True, now=start
    ).to_dict()
    first = trials.run_trial(cfg, lake, client, planned, planned["trials"][0], now=start)
    late = [
        trials.run_trial(cfg, lake, client, planned, t, now=start + timedelta(minutes=1))
        for t in planned["trials"][1:]
    ]
    assert first.status == "done" and [r.status for r in late] == ["skipped"] * 3
    assert all(r.run_id is None for r in late)
    collected = search.collect(client, planned)
    assert [r.status for r in collected] == ["done", "skipped", "skipped", "skipped"]
    exp = client.get_run(planned["parent_run_id"]).info.experiment_id
    logged = client.search_runs([exp], f"tags.`{Tag.SEARCH_KEY}` = 't/budget'")
    assert len(logged) == 2, "the search's run and its one started trial"


def test_a_point_the_estimator_refuses_fails_that_trial_only(world: World) -> None:
    cfg = searched(
        world.cfg,
        candidates=[{"estimator": LOGREG, "params": {"C": [-1.0, 1.0], "max_iter": [300]}}],
        trials=2,
    )
    planned = search.plan(
        cfg, world.lake, world.client, run_key="t/refused", end_ds=JAN[-1], force=True
    ).to_dict()
    results = [trials.run_trial(cfg, world.lake, world.client, planned, t) for t in planned["trials"]]
    failed = [r for r in results if r.status == "failed"]
    assert len(failed) == 1 and failed[0].params["C"] == -1.0 and "C" in failed[0].note
    assert world.client.get_run(failed[0].run_id).info.status == "FAILED"
    assert [r.status for r in search.collect(world.client, planned)].count("done") == 1


def test_no_scored_trial_refuses_training_naming_the_field(world: World) -> None:
    cfg = searched(world.cfg)
    planned = search.plan(cfg, world.lake, world.client, run_key="t/none", end_ds=JAN[-1], force=True)
    with pytest.raises(DataNotFoundError, match=r"model.search: no trial was scored.*trial 0: skipped"):
        search.train_winner(cfg, world.lake, world.client, planned.to_dict(), run_key="t/none")


def test_a_champion_of_the_same_search_and_data_skips_the_plan(world: World) -> None:
    cfg, client = searched(world.cfg, trials=1), world.client
    planned = search.plan(cfg, world.lake, client, run_key="t/champ", end_ds=JAN[-1], force=True).to_dict()
    trials.run_trial(cfg, world.lake, client, planned, planned["trials"][0])
    res, _ = search.train_winner(cfg, world.lake, client, planned, run_key="t/champ")
    assert res.version is not None
    client.set_registered_model_alias(cfg.registered_model_name, registry.CHAMPION, res.version)
    again = search.plan(cfg, world.lake, client, run_key="t/again", end_ds=JAN[-1])
    assert again.skipped and f"champion v{res.version}" in again.reason and not again.trials
    other = search.plan(searched(world.cfg, trials=2), world.lake, client, run_key="t/other", end_ds=JAN[-1])
    assert not other.skipped, "another search is another config: something to learn"


def test_the_fixed_config_cannot_be_searched(world: World) -> None:
    with pytest.raises(ConfigError, match=r"model\.search: not set"):
        search.plan(world.cfg, world.lake, world.client, run_key="t/fixed")


def test_a_long_record_keeps_the_winner_and_counts_in_its_tag() -> None:
    outcomes = [
        {"trial": i, "estimator": LOGREG, "params": {"C": i / 7}, "status": "done", "score": 0.5}
        for i in range(200)
    ]
    rec = {"metric": "roc_auc", "winner": {"trial": 3, "score": 0.5}, "trials": outcomes}
    tag = json.loads(search.record_tag(rec))
    assert tag["winner"] == {"trial": 3, "score": 0.5} and tag["trial_counts"] == {"done": 200}
    assert "trials" not in tag and tag["truncated"] is True
    assert len(search.record_tag(rec)) <= 7500
    short = {**rec, "trials": outcomes[:2]}
    assert json.loads(search.record_tag(short)) == short
