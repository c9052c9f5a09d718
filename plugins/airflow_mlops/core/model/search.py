"""Model selection within a budget: candidates x parameter spaces, scored by time-aware folds.

Three steps, each a task, so trials run as mapped tasks on any worker: :func:`plan` opens the
search's run and draws the trials from the seed; ``trials.run_trial`` scores one on time-ordered
folds of the training part (never the held-out part); :func:`train_winner` trains the best.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.foundation import tracking
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, SearchConfig
from airflow_mlops.core.foundation.errors import ConfigError, DataNotFoundError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.foundation.result import Result
from airflow_mlops.core.model.train import Chosen, TrainResult, nothing_new, train
from airflow_mlops.core.model.training_data import fingerprint, load_window, split_window
from airflow_mlops.core.model.trials import (
    Trial,
    TrialResult,
    best,
    from_run,
    plan_trials,
    time_folds,
    trial_runs,
    winner_config,
)
from airflow_mlops.core.model.window import select_window

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: The search record is a tag of the run and of the version: it must fit MLflow's smaller limit (run
#: tags, 8000 characters). A longer record keeps the winner and counts; search.json keeps every trial.
_TAG_CHARS = 7500


@dataclass(frozen=True)
class SearchPlan(Result):
    """What the plan task pushes: small JSON, the same for every retry of the run."""

    pipeline: str
    run_key: str
    skipped: bool
    reason: str
    parent_run_id: str | None = None
    window: list[str] = field(default_factory=list)
    deadline: str | None = None
    metric: str = ""
    folds: int = 0
    trials: list[dict[str, Any]] = field(default_factory=list)


# --- the plan --------------------------------------------------------------------------------------
def check_candidates(cfg: PipelineConfig) -> list[str]:
    """Each candidate's problems, by field; imports the estimators, so never at parse time."""
    from airflow_mlops.core.model.modeling import make_estimator

    if cfg.model.search is None:
        return []
    errors = []
    for i, c in enumerate(cfg.model.search.candidates):
        where = f"model.search.candidates[{i}]"
        probe = winner_config(cfg, Trial(i, c.estimator, {}))
        try:
            est = make_estimator(probe, cfg.split.seed)
        except ConfigError as e:
            errors.append(str(e).replace("model.estimator", f"{where}.estimator"))
            continue
        unknown = sorted(set(c.params) - set(est.get_params(deep=False)))
        if unknown:
            errors.append(
                f"{cfg.name}: {where}.params: {unknown} are not parameters of "
                f"{c.estimator.rpartition('.')[2]}; valid: {sorted(est.get_params(deep=False))}"
            )
    return errors


def plan(
    cfg: PipelineConfig,
    lake: Lake,
    client: MlflowClient,
    *,
    run_key: str,
    window_days: int | None = None,
    end_ds: str | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> SearchPlan:
    """Decide the window, open (or, on a retry, find) the search's run and list its trials."""
    search = _search(cfg)
    errors = check_candidates(cfg)
    if errors:
        raise ConfigError("\n".join(errors))
    cat = Catalog(lake, cfg.name)
    window = select_window(cat, window_days or cfg.split.training_window_days, end_ds, cfg)
    rows, lineage = load_window(cfg, cat, window)
    fp = fingerprint(lineage, cfg)
    skip = None if force else nothing_new(cfg, client, window, fp)
    if skip is not None:
        return SearchPlan(cfg.name, run_key, skipped=True, reason=skip.reason, window=window)
    data = split_window(cfg, window, lineage, fp, rows)
    try:  # too few rows fail here, before any trial starts
        time_folds(len(data.train), search.folds)
    except DataNotFoundError as e:
        raise DataNotFoundError(f"{cfg.name}: {e}") from None
    trials = plan_trials(search, _seed(cfg))
    parent, deadline = _parent_run(cfg, client, run_key, window, now or datetime.now(UTC), len(trials))
    return SearchPlan(
        pipeline=cfg.name,
        run_key=run_key,
        skipped=False,
        reason=f"{len(trials)} trials of {len(search.candidates)} candidates, {search.folds} folds",
        parent_run_id=parent,
        window=window,
        deadline=deadline,
        metric=cfg.gate.metric,
        folds=search.folds,
        trials=[t.to_dict() for t in trials],
    )


def _search(cfg: PipelineConfig) -> SearchConfig:
    if cfg.model.search is None:
        raise ConfigError(f"{cfg.name}: model.search: not set; this pipeline trains a fixed estimator")
    return cfg.model.search


def _seed(cfg: PipelineConfig) -> int:
    s = _search(cfg).seed
    return cfg.split.seed if s is None else s


def _parent_run(
    cfg: PipelineConfig, client: MlflowClient, run_key: str, window: list[str], now: datetime, n: int
) -> tuple[str, str]:
    """The search's run and its deadline: found by its run key on a retry (the deadline stays the
    first attempt's), else created. It is left FINISHED; training resumes it."""
    exp_id = tracking.ensure_experiment(client, cfg.experiment_name)
    found = client.search_runs(
        [exp_id],
        filter_string=f"tags.`{Tag.SEARCH_KEY}` = '{run_key}' and tags.`{Tag.SEARCH_TRIAL}` = 'parent'",
        max_results=1,
    )
    if found:
        return found[0].info.run_id, found[0].data.tags[Tag.SEARCH_DEADLINE]
    deadline = (now + timedelta(minutes=_search(cfg).minutes)).isoformat()
    run = client.create_run(
        exp_id,
        run_name=f"search {window[-1]} ({n} trials)"[:250],
        tags={
            Tag.PIPELINE: cfg.name,
            Tag.SEARCH_KEY: run_key,
            Tag.SEARCH_TRIAL: "parent",
            Tag.SEARCH_DEADLINE: deadline,
        },
    )
    client.set_terminated(run.info.run_id, status="FINISHED")
    return run.info.run_id, deadline


# --- the winner ------------------------------------------------------------------------------------
def collect(client: MlflowClient, plan: dict[str, Any]) -> list[TrialResult]:
    """Every planned trial as MLflow recorded it; a trial with no finished run was skipped (its
    task found the deadline passed, or never ran)."""
    exp_id = client.get_run(str(plan["parent_run_id"])).info.experiment_id
    runs: dict[int, Any] = {}
    for r in trial_runs(client, exp_id, str(plan["run_key"])):
        if r.data.tags.get(Tag.SEARCH_STATUS) and r.info.status in ("FINISHED", "FAILED"):
            runs.setdefault(int(r.data.tags[Tag.SEARCH_TRIAL]), r)
    out = []
    for d in plan["trials"]:
        t = Trial(int(d["index"]), str(d["estimator"]), dict(d["params"]))
        r = runs.get(t.index)
        out.append(
            from_run(r, t) if r is not None else TrialResult(t.index, t.estimator, t.params, "skipped")
        )
    return out


def record(
    cfg: PipelineConfig, plan: dict[str, Any], results: list[TrialResult], win: TrialResult
) -> dict[str, Any]:
    """The search as the version keeps it: budget, folds, every trial's outcome, the winner."""
    search = _search(cfg)
    return {
        "metric": plan["metric"],
        "higher_is_better": cfg.gate.higher_is_better,
        "folds": plan["folds"],
        "budget": {"trials": search.trials, "minutes": search.minutes, "deadline": plan["deadline"]},
        "seed": _seed(cfg),
        "winner": {"trial": win.index, "estimator": win.estimator, "params": win.params, "score": win.score},
        "trials": [
            {
                "trial": r.index,
                "estimator": r.estimator,
                "params": r.params,
                "status": r.status,
                "score": r.score,
                **({"note": r.note[:200]} if r.note else {}),
            }
            for r in results
        ],
    }


def record_tag(rec: dict[str, Any]) -> str:
    """The record as one tag value: whole if it fits, else the winner and counts (the run's
    search.json keeps every trial)."""
    text = json.dumps(rec, separators=(",", ":"), default=str)
    if len(text) <= _TAG_CHARS:
        return text
    counts: dict[str, int] = {}
    for t in rec["trials"]:
        counts[t["status"]] = counts.get(t["status"], 0) + 1
    short = {k: v for k, v in rec.items() if k != "trials"} | {"trial_counts": counts, "truncated": True}
    return json.dumps(short, separators=(",", ":"), default=str)[:_TAG_CHARS]


def train_winner(
    cfg: PipelineConfig,
    lake: Lake,
    client: MlflowClient,
    plan: dict[str, Any],
    *,
    run_key: str,
    reason: str = "scheduled",
    window_days: int | None = None,
    airflow_context: dict[str, str] | None = None,
) -> tuple[TrainResult, dict[str, Any]]:
    """Pick the best trial and train it on the whole training part: the version, and the record."""
    results = collect(client, plan)
    win = best(results, cfg.gate.higher_is_better)
    if win is None:
        why = "; ".join(f"trial {r.index}: {r.status} {r.note}".strip() for r in results)
        raise DataNotFoundError(
            f"{cfg.name}: model.search: no trial was scored, so there is no model to train ({why})"
        )
    rec = record(cfg, plan, results, win)
    chosen = Chosen(
        window=list(plan["window"]),
        model_cfg=winner_config(cfg, Trial(win.index, win.estimator, win.params)),
        parent_run_id=str(plan["parent_run_id"]),
        tags={Tag.ESTIMATOR: win.estimator, Tag.SEARCH: record_tag(rec)},
        record=rec,
    )
    res = train(
        cfg,
        lake,
        client,
        run_key=run_key,
        reason=reason,
        window_days=window_days,
        airflow_context=airflow_context,
        chosen=chosen,
    )
    return res, rec
