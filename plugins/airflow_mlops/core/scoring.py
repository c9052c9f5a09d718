"""Score: a validated snapshot -> predictions of the champion, written beside the snapshot.

The predictions file keeps what monitoring needs (drift columns, the label when present, the
prediction and its probability, the model version), so the drift report reads one file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.core import tracking
from airflow_mlops.core.config import PipelineConfig
from airflow_mlops.core.errors import MlopsError
from airflow_mlops.core.lake import Lake
from airflow_mlops.core.modeling import PREDICTION, PROBABILITY, features_frame, predict

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient


class NoChampionError(MlopsError):
    """No model has been promoted yet: there is nothing to score with."""


@dataclass(frozen=True)
class ScoreResult:
    pipeline: str
    ds: str
    model_name: str
    model_version: str
    rows: int
    predictions_uri: str
    mean_prediction: float
    mean_probability: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def predictions_uri(lake: Lake, pipeline: str, ds: str) -> str:
    return f"{lake.partition(pipeline, ds)}/predictions/predictions.parquet"


def unscored_batches(lake: Lake, pipeline: str) -> list[str]:
    """Validated intervals newer than the newest scored one (oldest first).

    The monitor DAG adds these to the intervals of its triggering events, so a batch whose event
    did not start a run (events that arrive while runs are being created can be folded away) is
    still scored by the next run. Before anything was ever scored this is empty: history is not
    back-filled by accident.
    """
    from airflow_mlops.core.validation import is_validated

    found: list[str] = []
    for ds in reversed(lake.batches(pipeline)):
        if lake.exists(predictions_uri(lake, pipeline, ds)):
            return sorted(found)
        if is_validated(lake, pipeline, ds):
            found.append(ds)
    return []


def score_batch(cfg: PipelineConfig, lake: Lake, client: MlflowClient, ds: str) -> ScoreResult:
    """Score interval ``ds`` with ``models:/<name>@champion``."""
    import mlflow

    from airflow_mlops.core.snapshot import read_snapshot, to_parquet_bytes

    name = cfg.registered_model_name
    champ = tracking.champion(client, name)
    if champ is None:
        raise NoChampionError(f"{name}: no version has the 'champion' alias yet; train and promote one first")
    model = mlflow.sklearn.load_model(f"models:/{name}/{champ.version}")
    keep = list(
        dict.fromkeys(
            [cfg.data_schema.time_column, *cfg.features.all, *cfg.drift_columns, cfg.data_schema.target]
        )
    )
    df = read_snapshot(lake, cfg.name, ds, keep)
    pred, proba = predict(cfg, model, features_frame(cfg, df))
    out: pd.DataFrame = df.copy()
    out[PREDICTION] = pred
    if proba is not None:
        out[PROBABILITY] = proba
    out["model_version"] = str(champ.version)
    uri = lake.write_bytes(predictions_uri(lake, cfg.name, ds), to_parquet_bytes(out))
    return ScoreResult(
        pipeline=cfg.name,
        ds=ds,
        model_name=name,
        model_version=str(champ.version),
        rows=len(out),
        predictions_uri=uri,
        mean_prediction=float(out[PREDICTION].astype(float).mean()),
        mean_probability=float(proba.mean()) if proba is not None else None,
    )
