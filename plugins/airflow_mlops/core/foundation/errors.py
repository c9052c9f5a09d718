"""The few named errors of airflow-mlops.

Each message names the thing at fault (file, field, column, expectation or metric) so that a
person reading a task log or a DAG import error knows what to fix without reading code.

Each class says whether it is ``permanent``: the same input fails the same way however often it
is tried (a bad file, a bad config, a missing partition), so a task fails at once instead of
spending its retries; a transient one (a write the lake refused, a lock held by another run, the
champion moving meanwhile) may pass when tried again, so the task's retries and backoff apply.
The operator base (``airflow_mlops.base``) turns permanent ones into Airflow's
``AirflowFailException``; a class that does not say which it is cannot be defined.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MlopsError(Exception):
    """Base of every error this package raises on purpose."""

    #: Whether trying again with the same input can change the outcome (False) or not (True).
    permanent: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(vars(cls).get("permanent"), bool):
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__}: an airflow-mlops error must say whether it is "
                "permanent (class attribute permanent = True or False)"
            )


class ConfigError(MlopsError):
    """A pipeline YAML file (or a setting) is invalid: names the file, the field and the problem."""

    permanent = True


class DataContractError(MlopsError):
    """Raw data does not match the pipeline's schema: names the file and the column."""

    permanent = True


class DataNotFoundError(MlopsError):
    """The data a stage needs is not where it should be: names the path."""

    permanent = True


class NotValidatedError(MlopsError):
    """A batch that did not pass validation (quarantined, failed, never validated, or validated for
    another snapshot) was asked to be scored or monitored: names the pipeline, the interval, the
    snapshot and its status."""

    permanent = True

    def __init__(self, message: str, *, pipeline: str, ds: str, status: str) -> None:
        super().__init__(message)
        self.pipeline, self.ds, self.status = pipeline, ds, status


class UnsafeSourceError(MlopsError):
    """A source path that resolves outside the allowed source roots (a symlink, ``..``): refused
    before a byte of it is read, and never copied or quoted."""

    permanent = True


class VanishedDataError(DataNotFoundError):
    """An interval ingest committed (its ledger says so) is gone from the lake: names the interval."""

    permanent = True


class LakeWriteError(MlopsError):
    """A write to the lake failed (disk, network, endpoint): names the URI being written."""

    permanent = False


class NoChampionError(MlopsError):
    """No model has been promoted yet: there is nothing to score with."""

    # A retry minutes later finds no champion either; promotion is another DAG's run.
    permanent = True


class PromotionConflictError(MlopsError):
    """The champion alias kept moving while a candidate was judged; a retry judges it again."""

    permanent = False


class UntrustedModelError(MlopsError):
    """A model version this project did not make, or whose file could run code when loaded."""

    permanent = True


class LockTimeoutError(MlopsError):
    """A lock in the lake stayed held by another holder for longer than the caller would wait."""

    permanent = False
