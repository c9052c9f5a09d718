"""The few named errors of airflow-mlops.

Each message names the thing at fault (file, field, column, expectation or metric) so that a
person reading a task log or a DAG import error knows what to fix without reading code.

Each class says what a task that meets it does, as ``airflow_outcome``:

- ``"fail"``: the same input fails the same way however often it is tried (a bad file, a bad
  config, a missing partition), so the task fails at once instead of spending its retries;
- ``"skip"``: nothing is wrong but there is nothing to do yet (no champion to score with);
- ``"retry"``: transient (a write the lake refused, a lock held by another run, the champion
  moving meanwhile): it may pass when tried again, so the task's retries and backoff apply.

The operator base (``airflow_mlops.base``) maps them to Airflow's ``AirflowFailException``,
``AirflowSkipException`` or a plain raise; a class that does not say which it is cannot be defined.
``permanent`` (anything but ``"retry"``) is derived from it; a class may still declare only
``permanent = True/False``, the older spelling, which means ``"fail"``/``"retry"``.
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
        own = vars(cls)
        name = f"{cls.__module__}.{cls.__qualname__}"
        outcome = own.get("airflow_outcome")
        if outcome is None and isinstance(own.get("permanent"), bool):
            outcome = "fail" if own["permanent"] else "retry"
        if outcome not in OUTCOMES:
            raise TypeError(
                f"{name}: an airflow-mlops error must say what a task does on it (class attribute "
                f"airflow_outcome = 'fail', 'skip' or 'retry'; got {outcome!r})"
            )
        if "permanent" in own and own["permanent"] is not (outcome != "retry"):
            raise TypeError(f"{name}: permanent={own['permanent']} contradicts {outcome=}")
        cls.airflow_outcome = outcome
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

    # Nothing to score with is not a failure: a retry minutes later finds no champion either, and
    # promotion is another DAG's run. (A rollback with no champion fails: RollbackOperator says so.)
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
