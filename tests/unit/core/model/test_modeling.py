"""The model's input and output: features as the estimator sees them, predictions, and metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataContractError
from airflow_mlops.core.model import modeling
from airflow_mlops.core.model.modeling import MISSING, PREDICTION, PROBABILITY

pytestmark = pytest.mark.unit


def rows(cfg: PipelineConfig, n: int = 4) -> pd.DataFrame:
    df = pd.DataFrame({c: np.arange(n, dtype="float64") for c in cfg.features.numeric})
    for c in cfg.features.categorical:
        df[c] = pd.Series(["a", None, "b", "a"][:n], dtype="string")
    df[cfg.data_schema.target] = pd.Series([False, False, True, True][:n], dtype="boolean")
    return df


def test_features_are_floats_without_infinities_and_text_without_missing(cfg: PipelineConfig) -> None:
    df = rows(cfg)
    first = cfg.features.numeric[0]
    df.loc[0, first] = np.inf
    X = modeling.features_frame(cfg, df)
    assert list(X.columns) == cfg.features.all
    assert math.isnan(X.loc[0, first]) and X[first].dtype == "float64"
    if cfg.features.categorical:
        assert X[cfg.features.categorical[0]].tolist() == ["a", MISSING, "b", "a"]
    with pytest.raises(DataContractError, match=r"feature column\(s\) \['" + first):
        modeling.features_frame(cfg, df.drop(columns=[first]))


def test_a_trained_pipeline_predicts_classes_and_probabilities_once(cfg: PipelineConfig) -> None:
    df = pd.concat([rows(cfg)] * 10, ignore_index=True)
    model = modeling.build_pipeline(cfg).fit(
        modeling.features_frame(cfg, df), modeling.target_series(cfg, df)
    )
    out = modeling.with_predictions(cfg, model, df, [cfg.data_schema.target])
    assert list(out.columns) == [cfg.data_schema.target, PREDICTION, PROBABILITY]
    assert set(out[PREDICTION]) <= {0, 1} and out[PROBABILITY].between(0, 1).all()
    assert ((out[PROBABILITY] > 0.5) == (out[PREDICTION] == 1)).all()
    assert out[PREDICTION].tolist()[:4] == [0, 0, 1, 1], "the rows are separable by their features"


def test_metrics_are_computed_only_where_they_are_defined(cfg: PipelineConfig) -> None:
    y = np.array([0, 1, 1, 0])
    got = modeling.compute_metrics(
        cfg, y, np.array([0, 1, 0, 0]), np.array([0.1, 0.9, 0.4, 0.2]), ["accuracy", "roc_auc"]
    )
    assert got == {"accuracy": 0.75, "roc_auc": 1.0}
    one_class = modeling.compute_metrics(
        cfg, np.array([1, 1]), np.array([1, 0]), np.array([0.9, 0.2]), ["roc_auc", "accuracy"]
    )
    assert one_class == {"accuracy": 0.5}, "roc_auc needs two classes"
