"""The few named errors of airflow-mlops. Each message names the thing at fault (file, field,
column, expectation or metric), so a person reading a task log knows what to fix without the code.

Each class says what a task that meets it does (``airflow_outcome``; ``permanent`` is derived):
``"fail"`` at once when the same input fails the same way however often it is tried (a bad file,
a missing partition); ``"skip"`` when nothing is wrong but there is nothing to do yet; ``"retry"``
when it may pass when tried again (a refused write, a held lock), so retries and backoff apply.
The operator base (``airflow_mlops.base``) maps them to Airflow; a class that does not say which
it is cannot be defined.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

#: What a task does on an error: fail at once, skip, or raise it as it is for Airflow to retry.
Outcome = Literal["fail", "skip", "retry"]
OUTCOMES: tuple[Outcome, ...] = ("fail", "skip", "retry")


class MlopsError(Exception):
    """Base of every error this package raises on purpose."""

    #: What the task does: fail at once, skip, or let Airflow retry (see the module's docstring).
    airflow_outcome: ClassVar[Outcome]
    #: Whether trying again with the same input cannot change the outcome: derived, not declared.
    permanent: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        outcome = vars(cls).get("airflow_outcome")
        if outcome not in OUTCOMES:
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__}: an airflow-mlops error must say what a task "
                f"does on it (class attribute airflow_outcome = 'fail', 'skip' or 'retry'; got {outcome!r})"
            )
        cls.permanent = outcome != "retry"


class ConfigError(MlopsError):
    """A pipeline YAML file (or a setting) is invalid: names the file, the field and the problem."""

    airflow_outcome = "fail"


class DataContractError(MlopsError):
    """Raw data does not match the pipeline's schema: names the file and the column."""

    airflow_outcome = "fail"


class DataNotFoundError(MlopsError):
    """The data a stage needs is not where it should be: names the path."""

    airflow_outcome = "fail"


class NotValidatedError(MlopsError):
    """A batch that did not pass validation (quarantined, failed, never validated, or validated for
    another snapshot) was asked to be scored or monitored: names the pipeline, the interval, the
    snapshot and its status."""

    airflow_outcome = "fail"

    def __init__(self, message: str, *, pipeline: str, ds: str, status: str) -> None:
        super().__init__(message)
        self.pipeline, self.ds, self.status = pipeline, ds, status


class UnsafeSourceError(MlopsError):
    """A source path that resolves outside the allowed source roots (a symlink, ``..``): refused
    before a byte of it is read, and never copied or quoted."""

    airflow_outcome = "fail"


class VanishedDataError(DataNotFoundError):
    """An interval ingest committed (its ledger says so) is gone from the lake: names the interval."""

    airflow_outcome = "fail"


class LakeWriteError(MlopsError):
    """A write to the lake failed (disk, network, endpoint): names the URI being written."""

    airflow_outcome = "retry"


class NoChampionError(MlopsError):
    """No model has been promoted yet: there is nothing to score with."""

    # Not a failure, and a retry finds none either. (A rollback with none fails: RollbackOperator.)
    airflow_outcome = "skip"


class PromotionConflictError(MlopsError):
    """The champion alias kept moving while a candidate was judged; a retry judges it again."""

    airflow_outcome = "retry"


class UntrustedModelError(MlopsError):
    """A model version this project did not make, or whose file could run code when loaded."""

    airflow_outcome = "fail"


class LockTimeoutError(MlopsError):
    """A lock in the lake stayed held by another holder for longer than the caller would wait."""

    airflow_outcome = "retry"
