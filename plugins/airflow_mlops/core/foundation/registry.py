"""The MLflow registry as airflow-mlops uses it: every alias and tag name, and the gateway to them.

Every tag is named here, so a typo is an AttributeError instead of a tag nobody reads.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.errors import DataNotFoundError, NoChampionError, UntrustedModelError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.lock import LakeLock

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from airflow_mlops.core.foundation.config import PipelineConfig

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
    WINDOW: Final = "data.window"  # V R: JSON list of the window's intervals (fit and held out)
    TRAINED_INTERVALS: Final = "data.trained_intervals"  # V R: JSON list of the intervals it was fit on
    LEFT_OUT: Final = "data.left_out"  # V R: JSON {why: intervals} of the window not trained on
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
    IMPORTANCES: Final = "model.importances"  # V R: JSON {feature: permutation importance on the holdout}
    REGISTERED_VERSION: Final = "registered_version"  # R: the version this training run registered
    NOTE: Final = "mlops.note"  # R: what a retry found and repaired (a dead attempt's run)
    PREVIOUS_CHAMPION: Final = "previous_champion"  # V: the champion a promoted version replaced
    ESTIMATOR: Final = "model.estimator"  # V R: the estimator a search chose (set with model.search only)
    SEARCH: Final = "model.search"  # V R: JSON summary of the search (trials, scores, winner)
    SEARCH_KEY: Final = "search.run_key"  # R: run key of the search a parent or trial run belongs to
    SEARCH_TRIAL: Final = "search.trial"  # R: index of the trial a nested run is
    SEARCH_DEADLINE: Final = "search.deadline"  # R: ISO time after which trials are not started
    SEARCH_STATUS: Final = "search.status"  # R: a trial's outcome, done or failed (set when it ended)
    SEARCH_SCORE: Final = "search.score"  # R: a trial's mean score over the folds (repr of the float)
    SEARCH_FOLD_SCORES: Final = "search.fold_scores"  # R: JSON list of a trial's fold scores
    SEARCH_SECONDS: Final = "search.seconds"  # R: how long a trial took
    SEARCH_NOTE: Final = "search.note"  # R: why a trial failed
    TRUSTED_TYPES: Final = "model.skops_trusted_types"  # V R: JSON list; the only types loading accepts
    PROMOTION_PREFIX: Final = "promotion."  # V: promotion.<field of PromotionDecision>
    PROMOTION_APPLIED: Final = "promotion.applied"  # V: when the decision was carried out (alias moved)
    PROMOTION_LOCK: Final = "promotion.lock"  # V: number of the champion lock the decision was made under
    APPROVAL_STATE: Final = "promotion.approval.state"  # V: pending, approved, rejected, timed_out, stale
    APPROVAL_BY: Final = "promotion.approval.by"  # V: who answered (or "timeout")
    APPROVAL_AT: Final = "promotion.approval.at"  # V: when the answer was applied
    APPROVAL_REASON: Final = "promotion.approval.reason"  # V: why, in the person's words (or the system's)
    ROLLBACK_PREFIX: Final = "rollback."  # V: rollback.{rolled_back,restored}.{reason,by,at,lock,other}
    CARD_STATE: Final = "model_card.state"  # V: the state the version's model card describes
    CARD_UPDATED_AT: Final = "model_card.updated_at"  # V: when the card was last written
    KIND: Final = "mlops.kind"  # M: "monitoring"
    MONITOR_DS: Final = "monitor.ds"  # M: the interval monitored
    MODEL_VERSION: Final = "model.version"  # M: the version that scored the interval
    DRIFT_DETECTED: Final = "drift.detected"  # M
    DRIFT_REPORT: Final = "drift.report_uri"  # M
    RETRAIN: Final = "monitor.retrain"  # M: "true" when an enabled trigger fired (monitor.triggers)
    FIRED: Final = "monitor.fired"  # M: comma-separated names of the signals that fired
    RETRAIN_REASON: Final = "monitor.retrain_reason"  # M: the retrain reason, naming each fired signal


def metric_tag(name: str) -> str:
    return f"{Tag.METRIC_PREFIX}{name}"


def prefixed(tags: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """The tags under ``prefix`` (``metric.``, ``lib.``, ...), named without it, sorted."""
    return {k.removeprefix(prefix): str(tags[k]) for k in sorted(tags) if k.startswith(prefix)}


class ModelRegistry:
    """The one gateway to a registered model's ``champion`` alias, its lock and its version tags
    (``tests/integrity/test_architecture.py``), so how the champion is read and moved is written once."""

    #: The pipeline's lock every move of the alias is made under, named after the alias it guards.
    LOCK: Final = CHAMPION

    def __init__(self, client: MlflowClient, name: str) -> None:
        self.client, self.name = client, name

    def champion(self) -> ModelVersion | None:
        """The version the ``champion`` alias points at; None only when the registry says there is none:
        one that cannot answer must never read as "no champion" (the gate would judge against nothing)."""
        return _unless_not_found(self.client.get_model_version_by_alias, self.name, CHAMPION)

    def champion_version(self) -> str | None:
        """The champion's version number, or None when there is none."""
        champ = self.champion()
        return None if champ is None else str(champ.version)

    def require_champion(self) -> ModelVersion:
        """The champion, or a NoChampionError (what scoring needs)."""
        champ = self.champion()
        if champ is None:
            raise NoChampionError(
                f"{self.name}: no version has the '{CHAMPION}' alias yet; train and promote one first"
            )
        return champ

    def set_champion(self, version: str) -> None:
        """Point the ``champion`` alias at ``version`` (callers hold :meth:`lock`)."""
        self.client.set_registered_model_alias(self.name, CHAMPION, str(version))

    def lock(self, lake: Lake, pipeline: str, owner: str) -> LakeLock:
        """The lock every move of the pipeline's ``champion`` alias is made under."""
        return LakeLock(lake, Catalog(lake, pipeline).lock_dir(self.LOCK), owner)

    def find(self, version: str) -> ModelVersion | None:
        """A version of the model; None only when the registry says it does not exist."""
        return _unless_not_found(self.client.get_model_version, self.name, str(version))

    def version(self, version: str) -> ModelVersion:
        """A version of the model, or a DataNotFoundError naming it (not MLflow's stack trace)."""
        found = self.find(version)
        if found is None:
            raise DataNotFoundError(f"{self.name}: there is no version {version!r}")
        return found

    def tags(self, version: str) -> dict[str, str]:
        """The tags of a version (a DataNotFoundError if it does not exist)."""
        return tags_of(self.version(version))

    def set_tags(self, version: str, tags: Mapping[str, str]) -> None:
        """Write tags on a version, one by one in the given order (MLflow has no batch for them)."""
        for key, value in tags.items():
            self.client.set_model_version_tag(self.name, str(version), key, value)

    def delete_tag(self, version: str, key: str) -> None:
        self.client.delete_model_version_tag(self.name, str(version), key)

    def versions(self) -> list[ModelVersion]:
        """All versions of the model, newest first (empty if it is not registered yet)."""
        found = self.client.search_model_versions(f"name = '{self.name}'", max_results=1000)
        return sorted(found, key=lambda v: int(v.version), reverse=True)


def _unless_not_found(call: Callable[..., ModelVersion], *args: str) -> ModelVersion | None:
    """``call(*args)``, or None when MLflow answers that it does not exist (any other failure propagates)."""
    from mlflow.exceptions import MlflowException

    try:
        return call(*args)
    except MlflowException as e:
        if is_not_found(e):
            return None
        raise


def is_not_found(error: Exception) -> bool:
    """Whether MLflow answered "no such model or alias" (and not that it could not answer)."""
    code = getattr(error, "error_code", "")
    text = str(error).lower()
    return code == "RESOURCE_DOES_NOT_EXIST" or (
        code == "INVALID_PARAMETER_VALUE" and "alias" in text and "not found" in text
    )


def tags_of(v: ModelVersion) -> dict[str, Any]:
    return dict(v.tags or {})


#: Packages whose types a model may contain, besides the package of the configured estimator.
SAFE_PACKAGES = ("sklearn", "numpy", "scipy")


def load_model(cfg: PipelineConfig, client: MlflowClient, version: str) -> Any:
    """Load a version, refusing what this project did not make: MLflow's loader trusts the artifact's
    own type list, so a crafted one runs code. Only types our training recorded are trusted, and
    pickle only with ``model.allow_pickle``."""
    import mlflow
    import yaml

    name = cfg.registered_model_name
    tags = ModelRegistry(client, name).tags(version)
    where = f"{name} v{version}"
    if tags.get(Tag.PIPELINE) != cfg.name or not tags.get(Tag.RUN_KEY):
        raise UntrustedModelError(
            f"{where}: not made by airflow-mlops pipeline {cfg.name} (no {Tag.PIPELINE}/{Tag.RUN_KEY} "
            "lineage tags); refusing to load it"
        )
    with tempfile.TemporaryDirectory(prefix="model-") as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=tmp)
        with open(os.path.join(local, "MLmodel"), encoding="utf-8") as f:
            flavor = (yaml.safe_load(f).get("flavors") or {}).get("sklearn") or {}
        path = os.path.join(local, str(flavor.get("pickled_model", "model.skops")))
        fmt = flavor.get("serialization_format", "pickle")
        if fmt == "skops":
            return _load_skops(path, _trusted_types(cfg, tags, where), where)
        if not cfg.model.allow_pickle:
            raise UntrustedModelError(
                f"{where}: serialized with {fmt}, which runs code when loaded; airflow-mlops loads only "
                "skops unless the pipeline sets model.allow_pickle: true"
            )
        import cloudpickle

        with open(path, "rb") as f:
            return cloudpickle.load(f)


def _trusted_types(cfg: PipelineConfig, tags: dict[str, Any], where: str) -> list[str]:
    try:
        trusted = json.loads(tags[Tag.TRUSTED_TYPES])
    except (KeyError, ValueError) as e:
        raise UntrustedModelError(f"{where}: no readable {Tag.TRUSTED_TYPES} tag; retrain it") from e
    allowed = (*SAFE_PACKAGES, *(e.split(".")[0] for e in cfg.model.estimators))
    foreign = [t for t in trusted if not isinstance(t, str) or t.split(".")[0] not in allowed]
    if foreign:
        raise UntrustedModelError(
            f"{where}: {Tag.TRUSTED_TYPES} names types outside {list(allowed)}: {foreign}"
        )
    return list(trusted)


@contextmanager
def quiet_skops() -> Iterator[None]:
    """Silence skops probing every loaded module (Airflow's deprecated shims each warn); it probes at
    import, so import skops.io inside this block."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"skops\.io\._utils")
        yield


def _load_skops(path: str, trusted: list[str], where: str) -> Any:
    with quiet_skops():
        import skops.io as sio  # its import probes every loaded module too

        unexpected = sorted(set(sio.get_untrusted_types(file=path)) - set(trusted))
        if unexpected:
            raise UntrustedModelError(
                f"{where}: the model file holds types its training did not record: {unexpected}"
            )
        return sio.load(path, trusted=trusted)
