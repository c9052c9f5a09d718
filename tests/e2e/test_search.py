"""A searched model with slices in its gate, through the loop with Airflow's dag.test(): ingest ->
validate -> plan -> trials (mapped tasks, nested MLflow runs) -> train the winner -> promote.

What a test needs done first (the days ingested, the first model) is a module-scoped fixture,
made once by whichever test asks first: each test also runs alone and in any order.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dev.datasets import daterange, write_flights
from tests.conftest import PIPELINES
from tests.e2e.test_loop import interval, succeeded_first_time, tis

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DAYS = daterange("2013-01-02", 4)
NAME = "flights_search"
SEARCH = {
    "candidates": [
        {
            "estimator": "sklearn.linear_model.LogisticRegression",
            "params": {"C": {"low": 0.01, "high": 10.0, "log": True}, "max_iter": [500]},
        },
        {
            "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
            "params": {"max_iter": [20, 40], "learning_rate": [0.1, 0.2], "max_leaf_nodes": [15]},
        },
    ],
    "trials": 4,
    "minutes": 20,
    "folds": 3,
    "seed": 7,
}


def search_pipeline(dst: Path) -> Path:
    """The shipped flights pipeline as ``flights_search``: a search instead of a fixed model, slices
    by origin airport in its gate, quick retries, a small training minimum."""
    dst.mkdir(exist_ok=True)
    d = yaml.safe_load((PIPELINES / "flights_delay.yaml").read_text())
    d["name"] = NAME
    d["model"] = {"search": SEARCH, "max_categories": 40}
    d["gate"] |= {"slices": ["origin"], "min_slice_rows": 30, "max_slice_gap": 0.3}
    d["source"].update(timeout_minutes=0.1, poke_interval_seconds=1)
    d["tasks"] = {"retries": 1, "retry_delay_seconds": 0, "timeout_minutes": 10}
    d["split"]["min_training_rows"] = 200
    (dst / f"{NAME}.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    return dst


@pytest.fixture(scope="module")
def world(airflow_db, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("e2e-search")
    pipelines = search_pipeline(home / "pipelines")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "MLFLOW_TRACKING_URI"):
            mp.delenv(var, raising=False)
        mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
        mp.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(pipelines))
        write_flights((home / "raw").as_uri(), DAYS, sample=0.5)
        from airflow_mlops.dag_factory import build_dags

        yield {"home": home, "pipelines": pipelines, "dags": build_dags(pipelines)}


def test_the_search_dag_is_plan_trials_train_and_parses_light(world) -> None:
    train = world["dags"][f"{NAME}__train"]
    assert {t.task_id for t in train.tasks} == {"plan", "trial", "train", "promote"}
    assert train.get_task("trial").upstream_task_ids == {"plan"}
    assert train.get_task("train").upstream_task_ids == {"trial"}
    assert train.get_task("train").trigger_rule == "none_failed"
    for t in train.tasks:
        assert t.retries >= 1 and t.execution_timeout is not None, t.task_id
    # The DAG file with this pipeline pulls in no heavy library (as tests/integrity checks for the
    # shipped pipelines), and the shipped fixed-model pipelines keep train >> promote.
    code = (
        "import sys, json\n"
        f"sys.path[:0] = [{str(ROOT / 'plugins')!r}]\n"
        "from airflow_mlops.dag_factory import build_dags\n"
        f"from pathlib import Path\nbuild_dags(Path({str(world['pipelines'])!r}))\n"
        "heavy = {'pandas', 'sklearn', 'mlflow', 'great_expectations', 'evidently', 'pyarrow'}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
    from airflow_mlops.dag_factory import build_dags

    fixed = build_dags(PIPELINES)["flights_delay__train"]
    assert {t.task_id for t in fixed.tasks} == {"train", "promote"}


@pytest.fixture(scope="module")
def ingested(world) -> list[str]:
    """The days ingested and validated; their runs' states."""
    states = []
    for ds in DAYS:
        dr = world["dags"][f"{NAME}__ingest"].test(logical_date=interval(ds))
        succeeded_first_time(dr)
        states.append(str(dr.state))
    return states


@pytest.fixture(scope="module")
def searched(world, ingested):
    """The first train run of the pipeline: a search over the ingested days."""
    dr = world["dags"][f"{NAME}__train"].test(run_conf={"reason": "e2e: search", "training_window_days": 10})
    succeeded_first_time(dr)
    return dr


def test_ingest_validates_the_days(world, ingested) -> None:
    assert ingested == ["success"] * len(DAYS)
    batches = world["home"] / "lake" / NAME / "batches"
    assert all((batches / f"ds={ds}" / "validation" / "summary.json").exists() for ds in DAYS)


def test_a_searched_model_is_trained_from_mapped_trials_and_promoted_through_slices(world, searched) -> None:
    dr = searched
    states = tis(dr)
    assert sorted(k for k in states if k.startswith("trial[")) == [f"trial[{i}]" for i in range(4)]
    assert states["plan"] == states["train"] == states["promote"] == "success"
    labels = {t.map_index: t.rendered_map_index for t in dr.get_task_instances() if t.task_id == "trial"}

    from airflow_mlops.core.foundation import registry, tracking
    from airflow_mlops.core.foundation.registry import Tag
    from airflow_mlops.core.model import model_card

    client = tracking.configure()
    champ = registry.ModelRegistry(client, NAME).champion()
    assert champ is not None and str(champ.version) == "1", "the searched model passed the gate"
    tags = registry.tags_of(champ)
    parent = str(champ.run_id)
    run = client.get_run(parent)
    nested = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent}'"
    )
    assert len(nested) == 4 and all(n.info.status == "FINISHED" for n in nested)
    rec = json.loads(tags[Tag.SEARCH])
    assert [t["status"] for t in rec["trials"]] == ["done"] * 4
    scores = {t["trial"]: t["score"] for t in rec["trials"]}
    win = rec["winner"]
    assert win["score"] == max(scores.values()) and scores[win["trial"]] == win["score"]
    assert {t["estimator"] for t in rec["trials"]} == {c["estimator"] for c in SEARCH["candidates"]}
    # The version is the winner: its estimator and parameters, as its own run logged them.
    assert run.data.params["estimator"] == win["estimator"] == tags[Tag.ESTIMATOR]
    params = {
        k.removeprefix("model."): json.loads(v) for k, v in run.data.params.items() if k.startswith("model.")
    }
    assert params == win["params"]
    winner_run = next(n for n in nested if n.data.tags[Tag.SEARCH_TRIAL] == str(win["trial"]))
    assert winner_run.data.params["estimator"] == win["estimator"]
    assert labels[win["trial"]].startswith(f"trial {win['trial']}: "), labels
    # The gate judged the slices, and the card shows both the search and the slices.
    from airflow_mlops.core.model.holdout import read_record

    slices = read_record(tags[f"{Tag.PROMOTION_PREFIX}slices"])
    assert {s.name for s in slices} == {"origin=EWR", "origin=JFK", "origin=LGA"}
    assert all(s.rows >= 30 and 0.5 < s.candidate <= 1 and s.champion is None for s in slices)
    card = model_card.read_card(client, NAME, "1")
    assert card is not None and "## Search" in card and "### Slices" in card
    assert f"| {win['trial']} (winner) |" in card and "origin=JFK" in card


def test_a_second_run_on_the_same_data_skips_and_says_why(world, searched) -> None:
    dr = world["dags"][f"{NAME}__train"].test(run_conf={"reason": "e2e: again", "training_window_days": 10})
    states = tis(dr)
    assert states["plan"] == "skipped" and states["train"] == "skipped", states
    assert states["promote"] == "skipped" and not any(k.startswith("trial[") for k in states)
    from airflow_mlops.core.foundation import registry, tracking

    assert [str(v.version) for v in registry.ModelRegistry(tracking.configure(), NAME).versions()] == ["1"]
