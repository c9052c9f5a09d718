"""The drift reference of a model version, made once at training: the whole window it learned from
and was judged on, with its own predictions. Monitoring compares each scored batch with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.model.modeling import with_predictions

if TYPE_CHECKING:
    import pandas as pd


def sample_reference(cfg: PipelineConfig, reference: pd.DataFrame) -> pd.DataFrame:
    """At most ``drift.max_reference_rows`` rows, drawn with the pipeline's seed (same rows every run)."""
    limit = cfg.drift.max_reference_rows
    if len(reference) <= limit:
        return reference
    return reference.sample(n=limit, random_state=cfg.split.seed).sort_index()


def reference_frame(cfg: PipelineConfig, model: Any, rows: pd.DataFrame) -> pd.DataFrame:
    """The drift reference of a new model: its whole window with its own predictions, sampled.

    The whole window, not only the training split, so that day-of-week patterns inside the window
    are not "drift".
    """
    columns = list(dict.fromkeys([*cfg.drift_columns, cfg.data_schema.target]))
    return sample_reference(cfg, with_predictions(cfg, model, rows, columns))
