"""The rows the gate compares on: never an interval the champion was fit on."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataNotFoundError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model import comparison
from airflow_mlops.core.model.training_data import INTERVAL

pytestmark = pytest.mark.unit


def holdout(cfg: PipelineConfig) -> pd.DataFrame:
    target = cfg.data_schema.target
    return pd.DataFrame(
        {
            INTERVAL: ["2013-01-08", "2013-01-08", "2013-01-09", "2013-01-10", "2013-01-10"],
            target: pd.array([True, False, None, True, False], dtype="boolean"),
        }
    )


def test_intervals_are_told_in_a_few_words() -> None:
    assert comparison.span([]) == "no interval"
    assert comparison.span(["2013-01-08"]) == "2013-01-08"
    assert (
        comparison.span(["2013-01-08", "2013-01-09", "2013-01-10"]) == "2013-01-08..2013-01-10 (3 intervals)"
    )


def test_what_a_version_was_fit_on_comes_from_its_tags_the_window_as_a_fallback() -> None:
    assert comparison.fitted_on({Tag.TRAINED_INTERVALS: '["2013-01-02", "2013-01-01"]'}) == [
        "2013-01-01",
        "2013-01-02",
    ]
    assert comparison.fitted_on({Tag.TRAINED_INTERVALS: "{broken", Tag.WINDOW: '["2013-01-03"]'}) == [
        "2013-01-03"
    ]
    assert comparison.fitted_on({}) is None


def test_a_first_model_is_judged_on_its_own_labelled_rows(cfg: PipelineConfig) -> None:
    own = comparison.own(cfg, holdout(cfg))
    assert len(own.rows) == 4 and own.intervals == ["2013-01-08", "2013-01-10"]
    assert own.described(None) == "on its 4 held-out rows (2013-01-08..2013-01-10 (2 intervals))"


def test_the_champions_intervals_are_left_out_and_said_so(cfg: PipelineConfig, lake: Lake) -> None:
    champion = {Tag.TRAINED_INTERVALS: json.dumps(["2013-01-07", "2013-01-08"])}
    got = comparison.unseen(cfg, lake, holdout(cfg), {}, champion, "3")
    assert got.intervals == ["2013-01-10"] and got.excluded == ["2013-01-08"] and len(got.rows) == 2
    assert set(got.rows[INTERVAL]) == {"2013-01-10"}
    assert "were left out: champion v3 was fit on them" in got.described("3")


def test_without_knowing_what_either_saw_there_is_no_comparison(cfg: PipelineConfig, lake: Lake) -> None:
    with pytest.raises(DataNotFoundError, match="tags record neither"):
        comparison.unseen(cfg, lake, holdout(cfg), {}, {}, "3")
    with pytest.raises(DataNotFoundError, match="do not say which interval each came from"):
        comparison.unseen(cfg, lake, holdout(cfg).drop(columns=[INTERVAL]), {}, {Tag.WINDOW: "[]"}, "3")
