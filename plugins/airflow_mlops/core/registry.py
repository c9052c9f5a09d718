"""The MLflow registry as airflow-mlops uses it: every alias and tag name, and the reads of them.

The registry is the source of truth for models: the ``champion`` alias names the model in
production, and each version's tags carry its lineage and the gate's decision about it. Every tag
the project writes or reads is named here, so a person can look up what ``data.fingerprint`` means
in one place, and a typo is an AttributeError instead of a tag nobody reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

#: The alias of the version in production.
CHAMPION: Final = "champion"


class Tag:
    """Tag names on model versions (V), training runs (R) and monitoring runs (M)."""

    PIPELINE: Final = "pipeline"  # V R M: the pipeline's name
    CONFIG_HASH: Final = "config_hash"  # V R: hash of the effective pipeline YAML
    CODE_VERSION: Final = "code_version"  # V R: package version + git commit
    RUN_KEY: Final = "airflow.run_key"  # V R M: "<dag_id>/<run_id>"; a retry finds its work by it
    DAG_ID: Final = "airflow.dag_id"  # V R
    RUN_ID: Final = "airflow.run_id"  # V R
    REASON: Final = "train.reason"  # V R: why the model was trained (Param, or the drift event)
    FORCE: Final = "train.force"  # V R
    WINDOW: Final = "data.window"  # V R: JSON list of the intervals trained on
    SNAPSHOTS: Final = "data.snapshots"  # V R: JSON list of "<ds>:<hash16>"
    SOURCE: Final = "data.source"  # V R: the batches directory in the lake
    FINGERPRINT: Final = "data.fingerprint"  # V R: snapshots + config; equal means nothing new to learn
    TRAIN_ROWS: Final = "data.train_rows"  # V R
    TEST_ROWS: Final = "data.test_rows"  # V R
    HOLDOUT_URI: Final = "data.holdout_uri"  # V R: what the gate scores candidate and champion on
    REFERENCE_URI: Final = "data.reference_uri"  # V R: the drift reference of this version
    VALIDATION: Final = "validation.status"  # V R
    LIBRARY_PREFIX: Final = "lib."  # V R: lib.<distribution> = version
    METRIC_PREFIX: Final = "metric."  # V: metric.<name> = held-out score
    REGISTERED_VERSION: Final = "registered_version"  # R: the version this training run registered
    PREVIOUS_CHAMPION: Final = "previous_champion"  # V: the champion a promoted version replaced
    PROMOTION_PREFIX: Final = "promotion."  # V: promotion.<field of PromotionDecision>
    KIND: Final = "mlops.kind"  # M: "monitoring"
    MONITOR_DS: Final = "monitor.ds"  # M: the interval monitored
    MODEL_VERSION: Final = "model.version"  # M: the version that scored the interval
    DRIFT_DETECTED: Final = "drift.detected"  # M
    DRIFT_REPORT: Final = "drift.report_uri"  # M


def metric_tag(name: str) -> str:
    return f"{Tag.METRIC_PREFIX}{name}"


def champion(client: MlflowClient, model_name: str) -> ModelVersion | None:
    """The version the ``champion`` alias points at, or None before the first promotion."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None


def versions(client: MlflowClient, model_name: str) -> list[ModelVersion]:
    """All versions of a registered model, newest first (empty if it is not registered yet)."""
    from mlflow.exceptions import MlflowException

    try:
        found = client.search_model_versions(f"name = '{model_name}'", max_results=1000)
    except MlflowException:
        return []
    return sorted(found, key=lambda v: int(v.version), reverse=True)


def tags_of(v: ModelVersion) -> dict[str, Any]:
    return dict(v.tags or {})
