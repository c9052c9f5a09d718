"""Slices of the held-out rows: named, compared with the champion, judged, and recorded."""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.model import holdout
from airflow_mlops.core.model.holdout import MISSING_SLICE, Scored, SliceScore

pytestmark = pytest.mark.unit


def gated(cfg: PipelineConfig, **gate: object) -> PipelineConfig:
    return cfg.model_copy(update={"gate": cfg.gate.model_copy(update={"slices": ["origin"], **gate})})


def test_missing_values_form_a_slice_of_their_own() -> None:
    values = holdout.slice_values(pd.Series(["JFK", None, "LGA"], dtype="string"))
    assert list(values) == ["JFK", MISSING_SLICE, "LGA"]


def test_candidate_and_champion_are_compared_slice_by_slice() -> None:
    cand = Scored({"roc_auc": 0.8}, {("origin", "JFK"): (50, 0.7), ("origin", "EWR"): (5, None)})
    champ = Scored({"roc_auc": 0.8}, {("origin", "JFK"): (50, 0.75)})
    assert holdout.compare(cand, champ) == [
        SliceScore("origin", "JFK", 50, 0.7, 0.75),
        SliceScore("origin", "EWR", 5, None, None),
    ]
    assert [s.champion for s in holdout.compare(cand, None)] == [None, None]


def test_a_slice_worse_than_the_champion_by_more_than_allowed_refuses(cfg: PipelineConfig) -> None:
    slices = [SliceScore("origin", "JFK", 50, 0.70, 0.75), SliceScore("origin", "LGA", 60, 0.80, 0.79)]
    why = holdout.refusal(gated(cfg, max_slice_regression=0.03), slices)
    assert why is not None and why.startswith(
        "on slice origin=JFK (50 rows) roc_auc 0.7000 vs champion 0.7500"
    )
    assert holdout.refusal(gated(cfg, max_slice_regression=0.06), slices) is None
    gap = holdout.refusal(gated(cfg, max_slice_gap=0.05), slices)
    assert gap is not None and "its slices of origin differ by 0.1000" in gap and "worst origin=JFK" in gap


def test_the_record_keeps_the_worst_first_and_reads_back(cfg: PipelineConfig) -> None:
    slices = [SliceScore("origin", "LGA", 60, 0.80, 0.79), SliceScore("origin", "JFK", 50, 0.70, 0.75)]
    text = holdout.record(gated(cfg), slices)
    assert holdout.read_record(text) == list(reversed(slices))
    assert holdout.read_record("") == [] and holdout.read_record("{not json") == []
