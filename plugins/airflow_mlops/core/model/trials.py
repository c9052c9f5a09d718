"""One trial of a model search: the trials drawn from the search's spaces, the time-ordered folds,
and a trial scored on them and logged as a run nested under the search's run (:mod:`core.model.search`
plans the trials and trains the winner)."""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, RangeSpace, SearchConfig
from airflow_mlops.core.foundation.errors import DataNotFoundError, MlopsError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.foundation.result import Result
from airflow_mlops.core.model.training_data import load_window, split_window

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: Fewest validation rows a fold may have: below it a fold's score is noise.
MIN_FOLD_ROWS = 20


@dataclass(frozen=True)
class Trial(Result):
    """One point of the search: an estimator and the parameters drawn for it."""

    index: int
    estimator: str
    params: dict[str, Any]


@dataclass(frozen=True)
class TrialResult(Result):
    """How one trial went: ``done`` (scored), ``failed`` (the estimator refused) or ``skipped``."""

    index: int
    estimator: str
    params: dict[str, Any]
    status: str
    score: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    run_id: str | None = None
    seconds: float = 0.0
    note: str = ""


def _draw(space: list[Any] | RangeSpace, rng: random.Random) -> Any:
    if isinstance(space, list):
        return space[rng.randrange(len(space))]
    if space.log:
        x = math.exp(rng.uniform(math.log(space.low), math.log(space.high)))
    else:
        x = rng.uniform(space.low, space.high)
    return round(x) if space.integer else x


def _grid(params: dict[str, list[Any] | RangeSpace]) -> list[dict[str, Any]] | None:
    """Every point of a space made only of choice lists; None if some parameter is a range."""
    if any(isinstance(s, RangeSpace) for s in params.values()):
        return None
    names = sorted(params)
    lists = [params[n] for n in names if isinstance(params[n], list)]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*lists)]


def plan_trials(search: SearchConfig, seed: int) -> list[Trial]:
    """The trials, a pure function of the config and seed. Candidates take turns, so every estimator
    is tried even with a small budget; choice-only spaces are drawn without replacement."""
    rng = random.Random(seed)
    grids: list[list[dict[str, Any]] | None] = []
    for c in search.candidates:
        g = _grid(c.params)
        if g is not None:
            rng.shuffle(g)
        grids.append(g)
    trials: list[Trial] = []
    turn = 0
    while len(trials) < search.trials:
        open_ = [i for i, g in enumerate(grids) if g is None or g]
        if not open_:
            break
        i = open_[turn % len(open_)]
        turn += 1
        c = search.candidates[i]
        g = grids[i]
        params = g.pop(0) if g is not None else {n: _draw(c.params[n], rng) for n in sorted(c.params)}
        trials.append(Trial(len(trials), c.estimator, params))
    return trials


def time_folds(n_rows: int, folds: int, min_rows: int = MIN_FOLD_ROWS) -> list[tuple[int, int]]:
    """Expanding-window folds over rows in time order, as ``(train_end, valid_end)``: fold k learns
    from rows ``[0, train_end)`` and is scored on ``[train_end, valid_end)``; the newest fold is last
    and ends at ``n_rows``. Every validation block has the same size, ``n_rows // (folds + 1)``."""
    size = n_rows // (folds + 1)
    if size < min_rows:
        raise DataNotFoundError(
            f"model.search.folds: {folds} folds of {n_rows} training rows leave {size} rows per "
            f"fold, fewer than {min_rows}; use fewer folds or a longer split.training_window_days"
        )
    return [(n_rows - (folds - k) * size, n_rows - (folds - k - 1) * size) for k in range(folds)]


def winner_config(cfg: PipelineConfig, trial: Trial) -> PipelineConfig:
    """The pipeline as if its YAML named ``trial``'s estimator and parameters (``config_hash`` is
    not taken from it: the version records the searched config's hash)."""
    model = cfg.model.model_copy(update={"estimator": trial.estimator, "params": trial.params})
    return cfg.model_copy(update={"model": model})


def run_trial(
    cfg: PipelineConfig,
    lake: Lake,
    client: MlflowClient,
    plan: dict[str, Any],
    trial: dict[str, Any],
    now: datetime | None = None,
) -> TrialResult:
    """Score ``trial`` on the plan's folds, logged as a nested run; a retry reuses its finished run.
    A refused point is logged FAILED with the reason: one bad point does not end the search."""
    t = Trial(int(trial["index"]), str(trial["estimator"]), dict(trial["params"]))
    parent = str(plan["parent_run_id"])
    exp_id = client.get_run(parent).info.experiment_id
    previous = trial_runs(client, exp_id, plan["run_key"], t.index)
    for r in previous:
        if r.info.status in ("FINISHED", "FAILED") and r.data.tags.get(Tag.SEARCH_STATUS):
            return from_run(r, t)
        if r.info.status == "RUNNING":
            client.set_tag(r.info.run_id, Tag.NOTE, "attempt died during the trial; retried")
            client.set_terminated(r.info.run_id, status="FAILED")
    if (now or datetime.now(UTC)) >= datetime.fromisoformat(str(plan["deadline"])):
        return TrialResult(
            t.index, t.estimator, t.params, "skipped", note=f"not started before {plan['deadline']}"
        )
    return _score_and_log(cfg, lake, client, plan, t, exp_id, parent)


def trial_runs(client: MlflowClient, exp_id: str, run_key: str, index: int | None = None) -> list[Any]:
    which = f" and tags.`{Tag.SEARCH_TRIAL}` = '{index}'" if index is not None else ""
    runs = client.search_runs(
        [exp_id], filter_string=f"tags.`{Tag.SEARCH_KEY}` = '{run_key}'{which}", max_results=1000
    )
    return [r for r in runs if r.data.tags.get(Tag.SEARCH_TRIAL) != "parent"]


def from_run(r: Any, t: Trial) -> TrialResult:
    tags = r.data.tags
    score = tags.get(Tag.SEARCH_SCORE)
    return TrialResult(
        t.index,
        t.estimator,
        t.params,
        tags[Tag.SEARCH_STATUS],
        score=float(score) if score else None,
        fold_scores=json.loads(tags.get(Tag.SEARCH_FOLD_SCORES, "[]")),
        run_id=r.info.run_id,
        seconds=float(tags.get(Tag.SEARCH_SECONDS, 0)),
        note=tags.get(Tag.SEARCH_NOTE, ""),
    )


def _score_and_log(
    cfg: PipelineConfig,
    lake: Lake,
    client: MlflowClient,
    plan: dict[str, Any],
    t: Trial,
    exp_id: str,
    parent: str,
) -> TrialResult:
    from mlflow.entities import Metric, Param, RunTag

    from airflow_mlops.core.model.modeling import (
        build_pipeline,
        compute_metrics,
        features_frame,
        target_series,
    )
    from airflow_mlops.core.model.modeling import predict as model_predict

    metric = str(plan["metric"])
    started = time.monotonic()
    run = client.create_run(
        exp_id,
        run_name=f"trial {t.index}: {t.estimator.rpartition('.')[2]}"[:250],
        tags={
            "mlflow.parentRunId": parent,
            Tag.PIPELINE: cfg.name,
            Tag.SEARCH_KEY: str(plan["run_key"]),
            Tag.SEARCH_TRIAL: str(t.index),
        },
    )
    rid = run.info.run_id
    status, note, scores = "done", "", []
    try:
        cat = Catalog(lake, cfg.name)
        window = list(plan["window"])
        rows, lineage = load_window(cfg, cat, window)
        data = split_window(cfg, window, lineage, "", rows)  # the held-out part stays out of every fold
        tcfg = winner_config(cfg, t)
        for train_end, valid_end in time_folds(len(data.train), int(plan["folds"])):
            fit_rows, valid = data.train.iloc[:train_end], data.train.iloc[train_end:valid_end]
            model = build_pipeline(tcfg)
            model.fit(features_frame(tcfg, fit_rows), target_series(tcfg, fit_rows))
            pred, proba = model_predict(tcfg, model, features_frame(tcfg, valid))
            got = compute_metrics(tcfg, target_series(tcfg, valid), pred, proba, names=[metric])
            if metric in got and math.isfinite(got[metric]):
                scores.append(got[metric])
        if not scores:
            status, note = "failed", f"{metric} could not be computed on any fold (a single class?)"
    except MlopsError:
        client.set_terminated(rid, status="FAILED")
        raise
    except (ValueError, TypeError, ArithmeticError) as e:  # the estimator refused these parameters
        status, note = "failed", f"{type(e).__name__}: {e}"[:1000]
    score = sum(scores) / len(scores) if scores and status == "done" else None
    seconds = round(time.monotonic() - started, 3)
    ts = int(time.time() * 1000)
    tags = {
        Tag.SEARCH_STATUS: status,
        Tag.SEARCH_FOLD_SCORES: json.dumps([round(s, 6) for s in scores]),
        Tag.SEARCH_SECONDS: str(seconds),
        Tag.SEARCH_NOTE: note,
        **({Tag.SEARCH_SCORE: repr(score)} if score is not None else {}),
    }
    client.log_batch(
        rid,
        metrics=([Metric(f"cv_{metric}", score, ts, 0)] if score is not None else [])
        + [Metric(f"cv_{metric}_fold", s, ts, k) for k, s in enumerate(scores)],
        params=[Param("estimator", t.estimator)]
        + [Param(f"model.{k}", json.dumps(v)[:6000]) for k, v in sorted(t.params.items())],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    client.set_terminated(rid, status="FINISHED" if status == "done" else "FAILED")
    return TrialResult(t.index, t.estimator, t.params, status, score, scores, rid, seconds, note)


def best(results: list[TrialResult], higher_is_better: bool) -> TrialResult | None:
    """The best scored trial; on a tie the earlier one (the plan's order is the seed's)."""
    top: tuple[float, TrialResult] | None = None
    for r in sorted(results, key=lambda r: r.index):
        if r.status != "done" or r.score is None:
            continue
        if top is None or (r.score > top[0] if higher_is_better else r.score < top[0]):
            top = (r.score, r)
    return top[1] if top else None
