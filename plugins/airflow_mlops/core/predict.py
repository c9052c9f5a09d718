"""Predict: a validated snapshot -> predictions of the champion, written beside the snapshot.

The predictions file keeps what monitoring needs (drift columns, the label when present, the
prediction and its probability, the model version), so the drift report reads one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_mlops.core import registry
from airflow_mlops.core.catalog import Catalog
from airflow_mlops.core.config import PipelineConfig
from airflow_mlops.core.errors import NoChampionError
from airflow_mlops.core.lake import Lake
from airflow_mlops.core.modeling import PREDICTION, PROBABILITY, with_predictions
from airflow_mlops.core.result import Result

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion


@dataclass(frozen=True)
class ScoreResult(Result):
    pipeline: str
    ds: str
    model_name: str
    model_version: str
    rows: int
    predictions_uri: str
    mean_prediction: float
    mean_probability: float | None


def _champion(cfg: PipelineConfig, client: MlflowClient) -> ModelVersion:
    champ = registry.champion(client, cfg.registered_model_name)
    if champ is None:
        raise NoChampionError(
            f"{cfg.registered_model_name}: no version has the '{registry.CHAMPION}' alias yet; "
            "train and promote one first"
        )
    return champ


def batches_to_score(
    cfg: PipelineConfig, lake: Lake, client: MlflowClient, requested: Iterable[str]
) -> list[str]:
    """The intervals a monitor run scores: those requested (by the triggering events or the ``ds``
    Param) and any validated batch newer than the last scored one.

    Raises ValueError when nothing was requested and NoChampionError when nothing can score them.
    """
    found = set(requested)
    if not found:
        raise ValueError("no interval to score: trigger with conf {'ds': ['YYYY-MM-DD']}")
    found |= set(Catalog(lake, cfg.name).unscored_batches())
    try:
        _champion(cfg, client)
    except NoChampionError as e:
        raise NoChampionError(f"{e}: {sorted(found)} not scored") from e
    return sorted(found)


def score_batch(cfg: PipelineConfig, lake: Lake, client: MlflowClient, ds: str) -> ScoreResult:
    """Score interval ``ds`` with ``models:/<name>@champion``."""
    name = cfg.registered_model_name
    champ = _champion(cfg, client)
    model = registry.load_model(cfg, client, str(champ.version))
    keep = list(
        dict.fromkeys(
            [cfg.data_schema.time_column, *cfg.features.all, *cfg.drift_columns, cfg.data_schema.target]
        )
    )
    cat = Catalog(lake, cfg.name)
    out = with_predictions(cfg, model, cat.read_snapshot(ds, keep))
    out["model_version"] = str(champ.version)
    return ScoreResult(
        pipeline=cfg.name,
        ds=ds,
        model_name=name,
        model_version=str(champ.version),
        rows=len(out),
        predictions_uri=lake.write_parquet(cat.predictions_uri(ds), out),
        mean_prediction=float(out[PREDICTION].astype(float).mean()),
        mean_probability=float(out[PROBABILITY].mean()) if PROBABILITY in out else None,
    )
