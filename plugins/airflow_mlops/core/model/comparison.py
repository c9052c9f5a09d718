"""The rows the gate compares a candidate and the champion on: only rows neither model was fit on.

A candidate's held-out rows may be rows the champion was fit on (a retrain with a past ``end_date``),
and a model scored on rows it learnt from looks far better than it is (seen: 0.9875 against an
honest 0.8708); those intervals are left out, later batches neither saw are added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataNotFoundError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.holdout import labelled
from airflow_mlops.core.model.training_data import INTERVAL, load_window

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Comparison:
    """Labelled rows both models are scored on, and where they came from."""

    rows: pd.DataFrame
    intervals: list[str]  # the intervals the rows come from, oldest first
    excluded: list[str] = field(default_factory=list)  # held-out intervals the champion was fit on
    added: list[str] = field(default_factory=list)  # later validated batches neither model saw

    def described(self, champion_version: str | None) -> str:
        """Where the rows came from, in words, for the decision's reason."""
        if champion_version is None:
            return f"on its {len(self.rows)} held-out rows ({span(self.intervals)})"
        text = f"on {len(self.rows)} rows of {span(self.intervals)} that neither model was fit on"
        if self.added:
            text += f" (with the later batches {span(self.added)})"
        if self.excluded:
            text += (
                f"; its held-out rows of {span(self.excluded)} were left out: champion "
                f"v{champion_version} was fit on them"
            )
        return text


def span(intervals: list[str]) -> str:
    """A list of intervals in a few words: ``2013-01-08``, ``2013-01-08..2013-01-10 (3)``, ``none``."""
    if not intervals:
        return "no interval"
    if len(intervals) == 1:
        return intervals[0]
    return f"{intervals[0]}..{intervals[-1]} ({len(intervals)} intervals)"


def fitted_on(tags: dict[str, str]) -> list[str] | None:
    """The intervals a version was fit on (None when its tags do not say); older versions record only
    their window, which is taken whole so nothing they saw counts as unseen."""
    for tag in (Tag.TRAINED_INTERVALS, Tag.WINDOW):
        try:
            found = json.loads(tags.get(tag) or "null")
        except ValueError:
            continue
        if isinstance(found, list):
            return sorted(str(x) for x in found)
    return None


def own(cfg: PipelineConfig, holdout: pd.DataFrame) -> Comparison:
    """The candidate's labelled held-out rows: what a first model is judged on."""
    rows = labelled(cfg, holdout)
    return Comparison(rows, _intervals(rows))


def unseen(
    cfg: PipelineConfig,
    lake: Lake,
    holdout: pd.DataFrame,
    candidate: dict[str, str],
    champion: dict[str, str],
    champion_version: str,
) -> Comparison:
    """The candidate's held-out rows minus the intervals the champion was fit on, plus validated
    batches after the candidate's window that the champion never saw (at most as many intervals as
    the candidate's window holds, the earliest first)."""
    import pandas as pd

    name = cfg.registered_model_name
    if INTERVAL not in holdout.columns:
        raise DataNotFoundError(
            f"{name}: the candidate's held-out rows do not say which interval each came from (it was "
            "trained by an older airflow-mlops), so the rows the champion saw cannot be left out; train again"
        )
    seen = fitted_on(champion)
    if seen is None:
        raise DataNotFoundError(
            f"{name} v{champion_version}: its tags record neither {Tag.TRAINED_INTERVALS} nor "
            f"{Tag.WINDOW}, so the rows it was fit on are unknown and no comparison can exclude them"
        )
    rows = labelled(cfg, holdout)
    held = rows[INTERVAL].astype(str)
    excluded = sorted(set(held[held.isin(seen)]))
    rows = rows[~held.isin(seen)]
    window = json.loads(candidate.get(Tag.WINDOW) or "[]")
    added: list[str] = []
    if window:
        later = [
            ds
            for ds in Catalog(lake, cfg.name).validated_batches()
            if ds > str(window[-1]) and ds not in seen
        ][: len(window)]
        if later:
            extra, _ = load_window(cfg, Catalog(lake, cfg.name), later)
            extra = labelled(cfg, extra)
            added = _intervals(extra)
            rows = pd.concat(
                [rows, extra[[c for c in rows.columns if c in extra.columns]]], ignore_index=True
            )
    return Comparison(rows.reset_index(drop=True), _intervals(rows), excluded, added)


def _intervals(rows: pd.DataFrame) -> list[str]:
    return sorted(set(rows[INTERVAL].astype(str))) if INTERVAL in rows.columns else []
