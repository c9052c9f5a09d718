"""What the gate and the model card learn from the held-out data beyond one number: the gate metric
on each slice (each value of a column such as an airport or a customer group) and permutation
importances.

A model that is better on average can be worse for one group: with ``gate.slices`` the gate refuses
a candidate that loses too much on a slice, or whose slices differ too much (``gate.max_slice_gap``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.result import Result
from airflow_mlops.core.model.modeling import compute_metrics, features_frame, predict, target_series

if TYPE_CHECKING:
    import pandas as pd

#: How a missing value of a slice column is named: missing values form a slice of their own.
MISSING_SLICE: Final = "(missing)"
#: Slices kept in the decision's record (the worst first); the rest are counted.
MAX_RECORDED_SLICES: Final = 500
#: Held-out rows permutation importances are computed on (a seeded sample of a larger holdout).
IMPORTANCE_ROWS: Final = 20_000
IMPORTANCE_REPEATS: Final = 5


@dataclass(frozen=True)
class SliceScore(Result):
    """The gate metric of candidate and champion on one slice (None: too few rows, or not defined,
    e.g. roc_auc on a slice with one class)."""

    column: str
    value: str
    rows: int
    candidate: float | None
    champion: float | None

    @property
    def name(self) -> str:
        return f"{self.column}={self.value}"


@dataclass(frozen=True)
class Scored:
    """One model's metrics on the held-out rows, whole and per slice: {(column, value): (rows, score)}."""

    metrics: dict[str, float]
    slices: dict[tuple[str, str], tuple[int, float | None]]


def score(cfg: PipelineConfig, model: Any, holdout: pd.DataFrame) -> Scored:
    """Predict the labelled held-out rows once; the configured metrics, and the gate metric per slice."""
    df = labelled(cfg, holdout)
    y = target_series(cfg, df).to_numpy()
    pred, proba = predict(cfg, model, features_frame(cfg, df))
    metric, least = cfg.gate.metric, cfg.gate.min_slice_rows
    slices: dict[tuple[str, str], tuple[int, float | None]] = {}
    for column in cfg.gate.slices:
        values = slice_values(df[column])
        for value, idx in values.groupby(values, sort=True).indices.items():
            if len(idx) < least:
                slices[(column, str(value))] = (len(idx), None)
                continue
            got = compute_metrics(cfg, y[idx], pred[idx], None if proba is None else proba[idx], [metric])
            slices[(column, str(value))] = (len(idx), got.get(metric))
    return Scored(compute_metrics(cfg, y, pred, proba), slices)


def labelled(cfg: PipelineConfig, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows a metric can be computed on: those whose label is known."""
    return rows[rows[cfg.data_schema.target].notna()]


def slice_values(column: pd.Series) -> pd.Series:
    """A slice column as the text that names each slice; missing values are a slice of their own."""
    return column.astype("object").where(column.notna(), MISSING_SLICE).astype(str)


def compare(candidate: Scored, champion: Scored | None) -> list[SliceScore]:
    """Candidate and champion side by side on every slice, in column then value order."""
    return [
        SliceScore(
            col, value, rows, score, champion.slices.get((col, value), (0, None))[1] if champion else None
        )
        for (col, value), (rows, score) in candidate.slices.items()
    ]


def _loss(cfg: PipelineConfig, s: SliceScore) -> float | None:
    """How much worse the candidate is than the champion on ``s`` (negative: better)."""
    if s.candidate is None or s.champion is None:
        return None
    return (s.champion - s.candidate) if cfg.gate.higher_is_better else (s.candidate - s.champion)


def refusal(cfg: PipelineConfig, slices: list[SliceScore]) -> str | None:
    """Why the slices refuse the candidate, naming the slice; None when they do not."""
    g, metric = cfg.gate, cfg.gate.metric
    if g.max_slice_regression is not None:
        losses = [(loss, s) for s in slices if (loss := _loss(cfg, s)) is not None]
        if losses:
            loss, s = max(losses, key=lambda x: x[0])
            if loss > g.max_slice_regression:
                return (
                    f"on slice {s.name} ({s.rows} rows) {metric} {s.candidate:.4f} vs champion "
                    f"{s.champion:.4f}: worse by {loss:.4f}, more than gate.max_slice_regression "
                    f"{g.max_slice_regression}"
                )
    if g.max_slice_gap is not None:
        for column in g.slices:
            scored = [s for s in slices if s.column == column and s.candidate is not None]
            if len(scored) < 2:
                continue
            ranked = sorted(scored, key=lambda s: s.candidate or 0.0, reverse=g.higher_is_better)
            best, worst = ranked[0], ranked[-1]
            assert best.candidate is not None and worst.candidate is not None
            gap = abs(best.candidate - worst.candidate)
            if gap > g.max_slice_gap:
                return (
                    f"its slices of {column} differ by {gap:.4f}, more than gate.max_slice_gap "
                    f"{g.max_slice_gap}: best {best.name} {best.candidate:.4f} ({best.rows} rows), "
                    f"worst {worst.name} {worst.candidate:.4f} ({worst.rows} rows)"
                )
    return None


def record(cfg: PipelineConfig, slices: list[SliceScore]) -> str:
    """The slice table as compact JSON for the decision's record: judged slices, the worst first."""

    def worst_first(s: SliceScore) -> tuple[bool, float]:
        loss = _loss(cfg, s)
        return (loss is None, -(loss or 0.0))

    kept = sorted(slices, key=worst_first)[:MAX_RECORDED_SLICES]
    rows = [[s.column, s.value, s.rows, s.candidate, s.champion] for s in kept]
    return json.dumps(
        {
            "columns": ["column", "value", "rows", "candidate", "champion"],
            "rows": rows,
            "left_out": len(slices) - len(kept),
        }
    )


def read_record(text: str) -> list[SliceScore]:
    """The slice table back from :func:`record`'s JSON (empty for no or unreadable text)."""
    try:
        rows = json.loads(text)["rows"] if text else []
        return [SliceScore(str(c), str(v), int(n), a, b) for c, v, n, a, b in rows]
    except (ValueError, KeyError, TypeError):
        return []


def permutation_importances(cfg: PipelineConfig, model: Any, holdout: pd.DataFrame) -> dict[str, float]:
    """How much the gate metric worsens when each raw feature is shuffled on the held-out rows, so an
    importance reads in the gate metric's units (mean of a few seeded shuffles)."""
    import numpy as np

    df = labelled(cfg, holdout)
    if len(df) > IMPORTANCE_ROWS:
        df = df.sample(IMPORTANCE_ROWS, random_state=cfg.split.seed).sort_index()
    X, y = features_frame(cfg, df), target_series(cfg, df)
    metric, sign = cfg.gate.metric, 1.0 if cfg.gate.higher_is_better else -1.0

    def value(frame: pd.DataFrame) -> float | None:
        pred, proba = predict(cfg, model, frame)
        return compute_metrics(cfg, y, pred, proba, [metric]).get(metric)

    base = value(X)
    if base is None:
        return {}
    rng = np.random.default_rng(cfg.split.seed)
    out: dict[str, float] = {}
    for feature in cfg.features.all:
        drops = []
        for _ in range(IMPORTANCE_REPEATS):
            shuffled = X.copy()
            shuffled[feature] = X[feature].to_numpy()[rng.permutation(len(X))]
            got = value(shuffled)
            if got is not None:
                drops.append(sign * (base - got))
        if drops:
            out[feature] = float(np.mean(drops))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
