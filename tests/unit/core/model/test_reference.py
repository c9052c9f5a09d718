"""The drift reference of a model version: its window with its own predictions, sampled the same
way every time."""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.model.reference import sample_reference

pytestmark = pytest.mark.unit


def test_a_large_reference_is_sampled_reproducibly_in_row_order(cfg: PipelineConfig) -> None:
    limit = cfg.drift.max_reference_rows
    frame = pd.DataFrame({"x": range(limit * 2)})
    first, again = sample_reference(cfg, frame), sample_reference(cfg, frame)
    assert len(first) == limit and first.equals(again)
    assert first.index.is_monotonic_increasing
    small = frame.head(10)
    assert sample_reference(cfg, small) is small
