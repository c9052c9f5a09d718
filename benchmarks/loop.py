"""The whole loop, ours under ``dag.test()`` against a plain script doing the same steps with the
same libraries (issue 10, target 7): ingest and validate 14 real January days and a July day,
train and register a model from the January fortnight, score the July day with the champion and
write a drift report. Each runs in a fresh process of its own (see benchmarks/steps.py).

Both read the same raw files; Airflow's metadata database is migrated beforehand (a deployment has
one), outside the measured process.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = "flights_delay"
TRAIN_DAYS = [f"2013-01-{d:02d}" for d in range(1, 15)]
SCORE_DAY = "2013-07-10"


def _logical(ds: str) -> datetime:
    """The logical date of the daily ingest run whose data interval starts on ``ds``."""
    return datetime.fromisoformat(ds).replace(hour=6, tzinfo=UTC) + timedelta(days=1)


def _states(runs: list[Any]) -> list[str]:
    """The distinct end states of these DAG runs (``["success"]`` when all succeeded)."""
    return sorted({str(r.state) for r in runs})


def _env(home: Path) -> dict[str, str]:
    """The Airflow environment of the embedded default, rooted at ``home`` (as the e2e tests)."""
    from dev.stack import airflow_env

    env = airflow_env(home)
    env.pop("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", None)  # dag.test runs it in-process
    for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "MLFLOW_TRACKING_URI"):
        env.pop(var, None)
    return env


def prepare(work: str) -> dict[str, Any]:
    """Raw files of every day and a migrated Airflow database under ``work``."""
    from dev.datasets import write_flights

    home = Path(work) / "ours"
    raw = (Path(work) / "raw").as_uri()
    write_flights(raw, [*TRAIN_DAYS, SCORE_DAY])
    for h, dags in ((home, None), (Path(work) / "floor", Path(work) / "floor" / "dags")):
        env = _env(h) | ({"AIRFLOW__CORE__DAGS_FOLDER": str(dags)} if dags else {})
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    return {"days": len(TRAIN_DAYS) + 1}


def ours(work: str) -> dict[str, Any]:
    """The ingest DAG for each day, the train DAG (gate and promotion), the monitor DAG (score and
    drift) for the July day: each ``dag.test()``, as the e2e tests run them."""
    home = Path(work) / "ours"
    os.environ.update(_env(home))
    os.environ["AIRFLOW_MLOPS_RAW_ROOT"] = (Path(work) / "raw").as_uri()
    from airflow_mlops.dag_factory import build_dags

    dags = build_dags(ROOT / "include" / "pipelines")
    runs = [dags[f"{PIPELINE}__ingest"].test(logical_date=_logical(ds)) for ds in TRAIN_DAYS]
    runs.append(dags[f"{PIPELINE}__train"].test(run_conf={"reason": "bench", "training_window_days": 14}))
    # After training: the window is the newest fortnight of validated batches.
    runs.append(dags[f"{PIPELINE}__ingest"].test(logical_date=_logical(SCORE_DAY)))
    runs.append(dags[f"{PIPELINE}__monitor"].test(run_conf={"ds": [SCORE_DAY]}))
    summary = json.loads(
        (home / "lake" / PIPELINE / "batches" / f"ds={SCORE_DAY}" / "drift" / "summary.json").read_text()
    )
    return {"states": _states(runs), "drift_share": summary["drift_share"]}


def _noop() -> None:
    """A task that does nothing: what Airflow costs around each of ours."""


def shadow_dags() -> dict[str, Any]:
    """Our pipeline's ingest, train and monitor DAGs, each copied (tasks and edges) with every task
    doing nothing; parsed from a DAG file of their own, as ``dag.test()`` wants them in a bundle."""
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG

    from airflow_mlops.dag_factory import build_dags

    out = {}
    for name, dag in build_dags(ROOT / "include" / "pipelines").items():
        if name.removeprefix(f"{PIPELINE}__") not in ("ingest", "train", "monitor"):
            continue
        with DAG(f"{name}_floor", schedule=None, start_date=datetime(2013, 1, 1, tzinfo=UTC)) as copy:
            ops = {t.task_id: PythonOperator(task_id=t.task_id, python_callable=_noop) for t in dag.tasks}
        for t in dag.tasks:
            for up in t.upstream_task_ids:
                ops[up] >> ops[t.task_id]
        out[copy.dag_id] = copy
    return out


def floor(work: str) -> dict[str, Any]:
    """Airflow's own share of :func:`ours`: the same DAG runs under ``dag.test()`` with every task
    doing nothing (:func:`shadow_dags`); ours minus this is the work itself."""
    home = Path(work) / "floor"
    folder = home / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "floor.py").write_text(  # "airflow" and "dag" in it: Airflow's safe mode parses no other file
        "# airflow DAGs of benchmarks/loop.py\nfrom benchmarks.loop import shadow_dags\n\nglobals().update(shadow_dags())\n"
    )
    os.environ.update(_env(home) | {"AIRFLOW__CORE__DAGS_FOLDER": str(folder)})
    dags = shadow_dags()
    runs = [
        dags[f"{PIPELINE}__ingest_floor"].test(logical_date=_logical(ds)) for ds in [*TRAIN_DAYS, SCORE_DAY]
    ]
    runs += [dags[f"{PIPELINE}__{n}_floor"].test() for n in ("train", "monitor")]
    tasks = sum(len(dags[r.dag_id].tasks) for r in runs)
    return {"states": _states(runs), "tasks": tasks}


def baseline(work: str) -> dict[str, Any]:
    """The same steps written by hand with the same libraries: pandas to Parquet, the same Great
    Expectations suite with data docs, the same scikit-learn model logged and registered in MLflow
    (SQLite store) with a champion alias, the champion loaded back to score, Evidently's drift and
    classification presets written as HTML."""
    import great_expectations as gx
    import mlflow
    import pandas as pd
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    out = Path(work) / "plain"
    out.mkdir(exist_ok=True)
    numeric = ["dep_delay", "sched_dep_time", "sched_arr_time", "distance", "hour"]
    categorical = ["carrier", "origin", "dest"]
    columns = ["time_hour", *categorical, "flight", "sched_dep_time", "sched_arr_time", "dep_delay"]
    columns += ["arr_delay", "distance", "hour"]
    suite = json.loads((ROOT / "include" / "expectations" / "flights_delay.json").read_text())
    ctx = gx.get_context(mode="ephemeral")
    batch = (
        ctx.data_sources.add_pandas("flights")
        .add_dataframe_asset("day")
        .add_batch_definition_whole_dataframe("d")
    )
    exps = [
        ExpectationConfiguration(**{k: e[k] for k in ("type", "kwargs")}).to_domain_obj()
        for e in suite["expectations"]
    ]
    vd = ctx.validation_definitions.add(
        gx.ValidationDefinition(name="flights", data=batch, suite=ctx.suites.add(gx.ExpectationSuite("flights", expectations=exps)))
    )  # fmt: skip
    days: dict[str, pd.DataFrame] = {}
    passed = 0
    for ds in [*TRAIN_DAYS, SCORE_DAY]:
        df = pd.read_csv(Path(work) / "raw" / "flights" / f"{ds}.csv")
        df = df[df["arr_delay"].notna()][columns].assign(late=lambda d: d["arr_delay"] > 15)
        df["time_hour"] = pd.to_datetime(df["time_hour"], utc=True)
        df.to_parquet(out / f"{ds}.parquet", index=False)
        passed += bool(vd.run(batch_parameters={"dataframe": df}).success)
        days[ds] = df
    ctx.build_data_docs()

    window = pd.concat([days[d] for d in TRAIN_DAYS], ignore_index=True).sort_values("time_hour")
    cut = int(len(window) * 0.75)
    model = Pipeline(
        [
            ("prep", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore", max_categories=40, sparse_output=False), categorical)], remainder="passthrough")),
            ("model", HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, max_leaf_nodes=31)),
        ]
    )  # fmt: skip
    x = window[[*numeric, *categorical]]
    model.fit(x.iloc[:cut], window["late"].iloc[:cut])
    auc = roc_auc_score(window["late"].iloc[cut:], model.predict_proba(x.iloc[cut:])[:, 1])
    mlflow.set_tracking_uri(f"sqlite:///{out / 'mlflow.db'}")
    mlflow.set_experiment("flights")
    with mlflow.start_run():
        mlflow.log_params({"max_iter": 150, "learning_rate": 0.1, "max_leaf_nodes": 31})
        mlflow.log_metric("roc_auc", auc)
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=PIPELINE, input_example=x.head(5),
            serialization_format="cloudpickle",  # what a plain script loads without a list of trusted types
        )  # fmt: skip
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(PIPELINE, "champion", str(info.registered_model_version))

    champion = mlflow.sklearn.load_model(f"models:/{PIPELINE}@champion")
    july = days[SCORE_DAY]
    scored = july.assign(probability=champion.predict_proba(july[[*numeric, *categorical]])[:, 1])
    scored["prediction"] = (scored["probability"] >= 0.5).astype(int)
    scored.to_parquet(out / "predictions.parquet", index=False)
    reference = window.assign(probability=champion.predict_proba(x)[:, 1])
    reference["prediction"] = (reference["probability"] >= 0.5).astype(int)
    cols = [*numeric, *categorical, "late", "prediction", "probability"]
    definition = DataDefinition(
        numerical_columns=[*numeric, "probability"],
        categorical_columns=[*categorical, "late", "prediction"],
        classification=[BinaryClassification(target="late", prediction_labels="prediction", prediction_probas="probability")],
    )  # fmt: skip

    def dataset(df: pd.DataFrame) -> Any:
        return Dataset.from_pandas(df[cols].astype({"late": int}), data_definition=definition)

    snap = Report([DataDriftPreset(columns=[*numeric, *categorical]), ClassificationPreset()]).run(
        dataset(scored), dataset(reference)
    )
    snap.save_html(str(out / "drift.html"))
    return {"validated": passed, "roc_auc": round(float(auc), 4)}
