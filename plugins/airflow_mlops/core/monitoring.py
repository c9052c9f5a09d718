"""Monitor: a scored batch against the training data of the model that scored it.

The drift report goes to the lake (what users open) and to MLflow (drift metrics over time, next to
the model's runs). One monitoring run per Airflow run and interval: a retry logs into the same run.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import TYPE_CHECKING, Any

from airflow_mlops.core import tracking
from airflow_mlops.core.config import PipelineConfig
from airflow_mlops.core.errors import DataNotFoundError
from airflow_mlops.core.lake import Lake

if TYPE_CHECKING:
    from mlflow import MlflowClient


def monitor_batch(
    cfg: PipelineConfig, lake: Lake, client: MlflowClient, ds: str, run_key: str
) -> dict[str, Any]:
    """Drift report of interval ``ds``'s predictions; returns the drift summary (JSON-safe)."""
    import mlflow
    from mlflow.entities import Metric, RunTag

    from airflow_mlops.core.drift import drift_report
    from airflow_mlops.core.scoring import predictions_uri
    from airflow_mlops.core.snapshot import read_parquet

    current_uri = predictions_uri(lake, cfg.name, ds)
    if not lake.exists(current_uri):
        raise DataNotFoundError(
            f"{current_uri}: interval {ds} has not been scored; run the predict task first"
        )
    current = read_parquet(lake, current_uri)
    version = str(current["model_version"].iloc[0])
    mv = client.get_model_version(cfg.registered_model_name, version)
    ref_uri = tracking.tags_of(mv).get("data.reference_uri")
    if not ref_uri:
        raise DataNotFoundError(f"{cfg.registered_model_name} v{version}: no data.reference_uri tag")
    reference = read_parquet(lake, ref_uri)
    res = drift_report(cfg, lake, ds, current.drop(columns=["model_version"]), reference, version)

    exp_id = tracking.ensure_experiment(client, cfg.experiment_name)
    found = client.search_runs(
        [exp_id], filter_string=f"tags.`{tracking.TAG_RUN_KEY}` = '{run_key}' and tags.`monitor.ds` = '{ds}'"
    )
    ts = int(time.time() * 1000)
    with mlflow.start_run(
        run_id=found[0].info.run_id if found else None,
        experiment_id=exp_id,
        run_name=f"monitor {ds} (v{version})",
    ) as run:
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in res.metrics().items()],
            tags=[
                RunTag(k, v)
                for k, v in {
                    "pipeline": cfg.name,
                    "mlops.kind": "monitoring",
                    "monitor.ds": ds,
                    tracking.TAG_RUN_KEY: run_key,
                    "model.version": version,
                    "drift.detected": str(res.drift_detected).lower(),
                    "drift.report_uri": res.html_uri,
                }.items()
            ],
        )
        with tempfile.TemporaryDirectory() as tmp:
            for uri, name in ((res.html_uri, "drift_report.html"), (res.json_uri, "drift_report.json")):
                path = os.path.join(tmp, name)
                with open(path, "wb") as f:
                    f.write(lake.read_bytes(uri))
                mlflow.log_artifact(path, artifact_path=f"drift/{ds}")
    return res.to_dict()
