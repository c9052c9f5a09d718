"""The rows a model learns from, without a lake: the time split, its refusals and the fingerprint.

Reading a window from the lake (``load_window``) is tested with ingest, in
``tests/unit/core/data/test_ingest_timeless.py``, and by every training test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataNotFoundError
from airflow_mlops.core.model.training_data import INTERVAL, fingerprint, split_window

pytestmark = pytest.mark.unit
WINDOW = ["2013-01-01", "2013-01-02"]


def _rows(n: int, labels: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"late": [labels[i % len(labels)] for i in range(n)], INTERVAL: WINDOW[0]})


def test_the_newest_part_is_held_out(cfg: PipelineConfig) -> None:
    rows = _rows(1000, [0, 1])
    data = split_window(cfg, WINDOW, [], "fp", rows)
    assert len(data.test) == 250 and data.test.index[0] == 750, "split.test_fraction 0.25, the newest rows"
    assert data.trained_intervals == [WINDOW[0]]


def test_too_few_rows_or_a_single_class_is_refused_naming_the_window(cfg: PipelineConfig) -> None:
    with pytest.raises(DataNotFoundError, match=r"999 labelled rows in 2013-01-01..2013-01-02, fewer than"):
        split_window(cfg, WINDOW, [], "fp", _rows(999, [0, 1]))
    with pytest.raises(DataNotFoundError, match=r"single class: the target 'late' is 1 in all 1000"):
        split_window(cfg, WINDOW, [], "fp", _rows(1000, [1]))


def test_the_fingerprint_changes_with_a_snapshot_or_the_config(cfg: PipelineConfig) -> None:
    lineage = [{"ds": d, "hash": "a" * 64} for d in WINDOW]
    same = fingerprint(lineage, cfg)
    assert same == fingerprint([dict(x) for x in lineage], cfg) and len(same) == 16
    assert fingerprint([lineage[0], {**lineage[1], "hash": "b" * 64}], cfg) != same
    other = cfg.model_copy(update={"split": cfg.split.model_copy(update={"seed": cfg.split.seed + 1})})
    assert other.config_hash != cfg.config_hash and fingerprint(lineage, other) != same
