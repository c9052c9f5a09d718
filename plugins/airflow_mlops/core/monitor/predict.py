"""Predict: a validated snapshot -> predictions of the champion, written beside the snapshot.

The predictions file keeps what monitoring needs (drift columns, the label when present, the
prediction and its probability, the model version, the key later labels are matched on), so the
drift report reads one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import NoChampionError, NotValidatedError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import ModelRegistry
from airflow_mlops.core.foundation.result import Result
from airflow_mlops.core.model.modeling import PREDICTION, PROBABILITY, with_predictions

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd
    import pyarrow as pa
    from mlflow import MlflowClient


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


def batches_to_score(
    cfg: PipelineConfig, lake: Lake, client: MlflowClient, requested: Iterable[str]
) -> list[str]:
    """The intervals a monitor run scores: those requested (events or the ``ds`` Param) and any
    validated batch newer than the last scored one. A requested batch not validated (NotValidatedError,
    naming each) or no champion refuses the whole run, so that a forced interval is never quietly dropped.
    """
    found = set(requested)
    if not found:
        raise ValueError("no interval to score: trigger with conf {'ds': ['YYYY-MM-DD']}")
    cat = Catalog(lake, cfg.name)
    refused = []
    for ds in sorted(found):
        try:
            cat.require_validated(ds, "score it")
        except NotValidatedError as e:
            refused.append(e)
    if refused:
        first = refused[0]
        raise NotValidatedError(
            "\n".join(str(e) for e in refused), pipeline=cfg.name, ds=first.ds, status=first.status
        )
    found |= set(cat.unscored_batches())
    try:
        ModelRegistry(client, cfg.registered_model_name).require_champion()
    except NoChampionError as e:
        raise NoChampionError(f"{e}: {sorted(found)} not scored") from e
    return sorted(found)


#: The key of the predictions file's Parquet metadata that names the snapshot it was scored from.
SNAPSHOT_KEY: Final = b"airflow_mlops.snapshot_hash"


def _with_snapshot(table: pa.Table, snapshot_hash: str | None) -> pa.Table:
    """``table`` whose schema metadata also names the snapshot its rows were scored from."""
    if snapshot_hash is None:
        return table
    return table.replace_schema_metadata(
        {**(table.schema.metadata or {}), SNAPSHOT_KEY: snapshot_hash.encode()}
    )


def scored_snapshot(lake: Lake, predictions_uri: str) -> str | None:
    """The content hash of the snapshot a predictions file was scored from (None before it was recorded)."""
    with lake.open_parquet(predictions_uri) as pf:
        found = (pf.schema_arrow.metadata or {}).get(SNAPSHOT_KEY)
    return None if found is None else found.decode()


#: Rows scored at a time: memory is bounded by a chunk (its frame, the one-hot matrix and the
#: trees' working arrays), not by the batch; large enough that per-chunk overhead is noise.
CHUNK_ROWS: Final = 250_000


@dataclass
class _Totals:
    rows: int = 0
    prediction: float = 0.0
    probability: float | None = None  # a sum, for models that give a probability


def score_file(
    cfg: PipelineConfig,
    model: Any,
    lake: Lake,
    snapshot_uri: str,
    predictions_uri: str,
    version: str,
    chunk_rows: int = CHUNK_ROWS,
    *,
    snapshot_hash: str | None = None,
) -> _Totals:
    """Score a snapshot chunk by chunk into ``predictions_uri`` (written whole or not at all).

    Each chunk is read, predicted once and appended to the Parquet file being staged, so a batch of
    any size needs the memory of one chunk. ``snapshot_hash`` is recorded in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    time = [cfg.data_schema.time_column] if cfg.data_schema.time_column else []
    # The key of monitor.labels too: a label that arrives in a later batch finds its prediction by it.
    key = cfg.monitor.labels.key
    keep = list(dict.fromkeys([*time, *cfg.features.all, *cfg.drift_columns, cfg.data_schema.target, *key]))

    def table(out: pd.DataFrame) -> pa.Table:
        out["model_version"] = version
        return _with_snapshot(pa.Table.from_pandas(out, preserve_index=False), snapshot_hash)

    totals = _Totals()
    writer: pq.ParquetWriter | None = None
    with lake.open_parquet(snapshot_uri) as pf, lake.staged(predictions_uri) as tmp:
        try:
            for batch in pf.iter_batches(batch_size=chunk_rows, columns=keep):
                out = with_predictions(cfg, model, batch.to_pandas())
                scored = table(out)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, scored.schema, compression="zstd")
                writer.write_table(scored.cast(writer.schema))
                totals.rows += len(out)
                totals.prediction += float(out[PREDICTION].astype(float).sum())
                if PROBABILITY in out:
                    totals.probability = (totals.probability or 0.0) + float(out[PROBABILITY].sum())
            if writer is None:  # an empty snapshot still gets a file with its columns
                pq.write_table(
                    table(with_predictions(cfg, model, pf.schema_arrow.empty_table().to_pandas()[keep])), tmp
                )
        finally:
            if writer is not None:
                writer.close()
    return totals


def score_batch(cfg: PipelineConfig, lake: Lake, client: MlflowClient, ds: str) -> ScoreResult:
    """Score interval ``ds`` with ``models:/<name>@champion`` (a batch not validated is refused before
    the model loads), recording the snapshot (``SNAPSHOT_KEY``) so monitoring can tell a re-ingest's."""
    cat = Catalog(lake, cfg.name)
    manifest = cat.require_validated(ds, "score it")
    champ = ModelRegistry(client, cfg.registered_model_name).require_champion()
    version = str(champ.version)
    model = registry.load_model(cfg, client, version)
    out_uri = cat.predictions_uri(ds)
    snapshot = cat.snapshot_uri(ds, manifest)
    totals = score_file(cfg, model, lake, snapshot, out_uri, version, snapshot_hash=manifest["content_hash"])
    n = max(totals.rows, 1)
    return ScoreResult(
        pipeline=cfg.name,
        ds=ds,
        model_name=cfg.registered_model_name,
        model_version=version,
        rows=totals.rows,
        predictions_uri=out_uri,
        mean_prediction=totals.prediction / n,
        mean_probability=None if totals.probability is None else totals.probability / n,
    )
