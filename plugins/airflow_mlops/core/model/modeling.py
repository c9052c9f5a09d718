"""The model itself: features, preprocessing derived from the schema, metrics, predictions.

Training, promotion, scoring and drift all go through these functions so that a feature is
prepared the same way when the model is fit, judged, and used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline

PREDICTION = "prediction"
PROBABILITY = "probability"
MISSING = "__missing__"


def features_frame(cfg: PipelineConfig, df: pd.DataFrame) -> pd.DataFrame:
    """The model's input: numeric features as float64 (infinities as NaN), categorical ones as
    strings (NA as ``MISSING``). Built column by column from NumPy arrays: replacing infinities in
    the whole frame compared every string too (1.0 s per million flights rows; 0.2 s now)."""
    import numpy as np
    import pandas as pd

    missing = [c for c in cfg.features.all if c not in df.columns]
    if missing:
        raise DataContractError(f"{cfg.name}: feature column(s) {missing} are missing from the data")
    cols: dict[str, Any] = {}
    for c in cfg.features.numeric:
        values = df[c].to_numpy(dtype="float64", na_value=np.nan, copy=True)
        values[np.isinf(values)] = np.nan
        cols[c] = values
    for c in cfg.features.categorical:
        if isinstance(df[c].dtype, pd.StringDtype):  # already text: only the NAs to fill
            cols[c] = df[c].to_numpy(dtype=object, na_value=MISSING)
        else:
            cols[c] = df[c].astype("object").where(df[c].notna(), MISSING).astype(str)
    return pd.DataFrame(cols, index=df.index)  # numeric, then categorical: features.all's order


def target_series(cfg: PipelineConfig, df: pd.DataFrame) -> pd.Series:
    """The label as sklearn wants it: int 0/1 for classification, float for regression."""
    y = df[cfg.data_schema.target]
    if cfg.data_schema.task == "classification":
        if str(y.dtype) == "boolean" or y.dtype == bool:
            return y.astype("int64")
        return y.astype(str)
    return y.astype("float64")


def make_estimator(cfg: PipelineConfig, seed: int) -> Any:
    """Import the configured estimator and apply its parameters; bad names name the YAML field."""
    if cfg.model.estimator is None:
        raise ConfigError(
            f"{cfg.name}: model.estimator: not set; with model.search the estimator is the search's "
            "winner (core.model.trials.winner_config)"
        )
    from airflow_mlops.core.foundation.config import estimators

    # Checked again here, before the import: a config copied with another estimator (a search's
    # winner) was not validated, and an import runs the module's code.
    path = cfg.model.estimator
    problem = estimators.check_path(path, cfg.data_schema.task) or estimators.check_import(path)
    if problem:
        raise ConfigError(f"{cfg.name}: model.estimator: {problem}")
    module_name, _, cls_name = path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), cls_name)
    est: Any = cls()
    valid = est.get_params(deep=False)
    unknown = sorted(set(cfg.model.params) - set(valid))
    if unknown:
        raise ConfigError(
            f"{cfg.name}: model.params: {unknown} are not parameters of {cls_name}; valid: {sorted(valid)}"
        )
    params = dict(cfg.model.params)
    if "random_state" in valid and "random_state" not in params:
        params["random_state"] = seed
    try:
        est.set_params(**params)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{cfg.name}: model.params: {e}") from e
    return est


def check_param_values(cfg: PipelineConfig, est: Any) -> None:
    """Refuse parameter values the estimator would refuse in ``fit`` (scikit-learn checks them only
    there), naming the field: ``airflow-mlops check`` calls it, so a bad value fails before any data
    is read. A search's trial is not checked here: a refused point fails that trial only."""
    validate = getattr(est, "_validate_params", None)
    if not callable(validate):
        return
    try:
        validate()
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{cfg.name}: model.params: {e}") from e


def build_pipeline(cfg: PipelineConfig) -> Pipeline:
    """Preprocessing derived from the schema, then the estimator."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    steps = []
    if cfg.features.numeric:
        num = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
        steps.append(("numeric", num, cfg.features.numeric))
    if cfg.features.categorical:
        cat = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=cfg.model.max_categories,
            sparse_output=False,
        )
        steps.append(("categorical", cat, cfg.features.categorical))
    pre = ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("preprocess", pre), ("model", make_estimator(cfg, cfg.split.seed))])


def predict(cfg: PipelineConfig, model: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and, for binary classification, the positive class's probability; the class is
    taken from ``predict_proba`` (first on a tie) so the pipeline runs once, not twice."""
    if cfg.data_schema.task == "classification" and hasattr(model, "predict_proba"):
        p = model.predict_proba(X)
        pred = model.classes_[p.argmax(axis=1)]
        return pred, (p[:, 1] if p.shape[1] == 2 else None)
    return model.predict(X), None


def with_predictions(
    cfg: PipelineConfig, model: Any, df: pd.DataFrame, columns: list[str] | None = None
) -> pd.DataFrame:
    """``df`` (only ``columns``, if given) with the model's ``prediction`` of each row and, for
    binary classifiers, its ``probability``."""
    out = df[columns].copy() if columns is not None else df.copy()
    pred, proba = predict(cfg, model, features_frame(cfg, df))
    out[PREDICTION] = pred
    if proba is not None:
        out[PROBABILITY] = proba
    return out


def compute_metrics(
    cfg: PipelineConfig, y_true: Any, y_pred: Any, y_score: Any | None, names: list[str] | None = None
) -> dict[str, float]:
    """The configured metrics; a ranking metric needs two classes and is left out otherwise."""
    import numpy as np
    from sklearn import metrics as m

    out: dict[str, float] = {}
    binary = cfg.data_schema.task == "classification" and len(np.unique(y_true)) == 2
    for name in names or cfg.metrics:
        if name == "accuracy":
            out[name] = m.accuracy_score(y_true, y_pred)
        elif name == "balanced_accuracy":
            out[name] = m.balanced_accuracy_score(y_true, y_pred)
        elif name in ("f1", "precision", "recall"):
            fn = {"f1": m.f1_score, "precision": m.precision_score, "recall": m.recall_score}[name]
            out[name] = fn(y_true, y_pred, average="binary" if binary else "macro", zero_division=0)
        elif name == "roc_auc" and binary and y_score is not None:
            out[name] = m.roc_auc_score(y_true, y_score)
        elif name == "log_loss" and binary and y_score is not None:
            out[name] = m.log_loss(y_true, np.clip(y_score, 1e-15, 1 - 1e-15), labels=[0, 1])
        elif name == "brier" and binary and y_score is not None:
            out[name] = m.brier_score_loss(y_true, y_score)
        elif name == "rmse":
            out[name] = float(np.sqrt(m.mean_squared_error(y_true, y_pred)))
        elif name == "mae":
            out[name] = m.mean_absolute_error(y_true, y_pred)
        elif name == "r2":
            out[name] = m.r2_score(y_true, y_pred)
        elif name == "mape":
            out[name] = m.mean_absolute_percentage_error(y_true, y_pred)
    return {k: float(v) for k, v in out.items()}
