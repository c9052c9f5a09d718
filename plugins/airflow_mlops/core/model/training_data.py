"""The rows a model learns from: a window's validated snapshots, in time order, split by time.

Training, the model search's folds and the gate's comparison all read a window the same way, so a
row is in the same part everywhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import RESERVED_COLUMN, PipelineConfig
from airflow_mlops.core.foundation.errors import DataNotFoundError

if TYPE_CHECKING:
    import pandas as pd

#: The column of the window's rows that names the data interval each row came from: the gate
#: compares models only on rows of intervals neither learnt from (core.model.comparison).
INTERVAL: Final = RESERVED_COLUMN


@dataclass(frozen=True)
class TrainingData:
    """The window a model learns from: all its labelled rows, the time split, and their lineage."""

    window: list[str]
    lineage: list[dict[str, Any]]
    fingerprint: str
    rows: pd.DataFrame
    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def trained_intervals(self) -> list[str]:
        """Intervals any row the model is fit on came from (the interval cut by the split included)."""
        return sorted(set(self.train[INTERVAL].astype(str)))


def load_window(
    cfg: PipelineConfig, cat: Catalog, window: list[str]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Concatenate the window's labelled rows (only needed columns, and :data:`INTERVAL`) in time
    order, and describe each snapshot. Without a time column a record's time is its batch's: batches
    in interval order, rows in the order they arrived."""
    import pandas as pd

    time_column = cfg.data_schema.time_column
    needed = list(
        dict.fromkeys([*cfg.features.all, cfg.data_schema.target, *([time_column] if time_column else [])])
    )
    needed += [c for c in [*cfg.drift_columns, *cfg.gate.slices] if c not in needed]
    frames, lineage = [], []
    for ds in window:
        m = cat.committed_manifest(ds)
        uri = cat.snapshot_uri(ds, m)
        frame = cat.lake.read_parquet(uri, needed)
        frame[INTERVAL] = ds
        frames.append(frame)
        lineage.append({"ds": ds, "uri": uri, "hash": m.get("content_hash"), "rows": m.get("rows")})
    df = pd.concat(frames, ignore_index=True)  # the window is in interval order
    df = df[df[cfg.data_schema.target].notna()]
    if time_column:
        df = df.sort_values(time_column, kind="stable")
    return df.reset_index(drop=True), lineage


def fingerprint(lineage: list[dict[str, Any]], cfg: PipelineConfig) -> str:
    """Same snapshots + same config = same fingerprint: retraining on it would change nothing."""
    blob = json.dumps([[x["ds"], x["hash"]] for x in lineage] + [cfg.config_hash]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def split_window(
    cfg: PipelineConfig, window: list[str], lineage: list[dict[str, Any]], fp: str, rows: pd.DataFrame
) -> TrainingData:
    """The time split: the newest ``split.test_fraction`` of the rows is held out."""
    span = f"{window[0]}..{window[-1]}"
    if len(rows) < cfg.split.min_training_rows:
        raise DataNotFoundError(
            f"{cfg.name}: {len(rows)} labelled rows in {span}, fewer than "
            f"split.min_training_rows={cfg.split.min_training_rows}"
        )
    target = cfg.data_schema.target
    if cfg.data_schema.task == "classification" and rows[target].nunique() < 2:
        raise DataNotFoundError(
            f"{cfg.name}: the training window {span} has a single class: the target {target!r} is "
            f"{rows[target].iloc[0]} in all {len(rows)} labelled rows"
        )
    cut = int(len(rows) * (1 - cfg.split.test_fraction))
    return TrainingData(window, lineage, fp, rows, rows.iloc[:cut], rows.iloc[cut:])
