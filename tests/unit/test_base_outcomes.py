"""The operator base maps each error class's ``airflow_outcome``: permanent errors fail a task at
once, for every operator and sensor; "nothing to do yet" skips; transient ones keep retries.
(The verdict of each class is the table in tests/unit/core/foundation/test_errors.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airflow_mlops.base import PipelineOperator, PipelineSensor, translate_errors
from airflow_mlops.core.foundation import errors
from airflow_mlops.core.foundation.errors import MlopsError
from airflow_mlops.operators import (
    BatchPredictOperator,
    DriftReportOperator,
    IngestOperator,
    PlanSearchOperator,
    PromoteModelOperator,
    RollbackOperator,
    TrainModelOperator,
    ValidateDataOperator,
)
from airflow_mlops.sensors.data import DataAvailableSensor
from tests.unit.core.foundation.test_errors import OUTCOME, PERMANENT, make
from tests.unit.operators.conftest import make_context

pytestmark = pytest.mark.unit
EXPECTED = {"fail": AirflowFailException, "skip": AirflowSkipException}


class Raising(PipelineOperator):
    """An operator whose work raises what it is given."""

    def __init__(self, *, error: BaseException, **kwargs: Any) -> None:
        super().__init__(pipeline="flights_delay", **kwargs)
        self.error = error

    def execute(self, context: Any) -> Any:
        raise self.error


class Nested(Raising):
    """A subclass that calls its parent's (also converting) execute: the conversion happens once."""

    def execute(self, context: Any) -> Any:
        return super().execute(context)


class RaisingSensor(PipelineSensor):
    def __init__(self, *, error: BaseException, **kwargs: Any) -> None:
        super().__init__(pipeline="flights_delay", poke_interval=0, timeout=5, **kwargs)
        self.error = error

    def poke(self, context: Any) -> bool:
        raise self.error

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        raise self.error


@pytest.mark.parametrize("name", sorted(PERMANENT))
@pytest.mark.parametrize("op_class", [Raising, Nested])
def test_the_base_fails_permanent_errors_at_once_and_lets_transient_ones_retry(
    name: str, op_class: type[Raising]
) -> None:
    cls = getattr(errors, name)
    original = make(cls, f"{name} at s3://lake/x.parquet, column dep_delay")
    op = op_class(task_id="t", error=original)
    with pytest.raises((AirflowFailException, AirflowSkipException, cls)) as got:
        op.execute(make_context())
    if OUTCOME[name] == "fail":
        assert type(got.value) is AirflowFailException
        assert got.value.__cause__ is original  # chained once: not a fail exception of a fail exception
        assert str(got.value) == f"{name} (permanent, not retried): {original}"
    elif OUTCOME[name] == "skip":
        assert type(got.value) is AirflowSkipException
        assert got.value.__cause__ is original
        assert str(got.value) == f"{name}: {original}"
    else:
        assert got.value is original  # untouched: the task's retries and backoff apply


@pytest.mark.parametrize(
    "error", [ValueError("bad value"), OSError(28, "No space left on device"), KeyError("k")]
)
def test_other_exceptions_go_through_unchanged(error: BaseException) -> None:
    with pytest.raises(type(error)) as got:
        Raising(task_id="t", error=error).execute(make_context())
    assert got.value is error


@pytest.mark.parametrize("name", sorted(PERMANENT))
def test_a_sensor_fails_at_once_on_a_permanent_refusal_in_poke_and_on_resume(name: str) -> None:
    cls = getattr(errors, name)
    original = make(cls, f"{name} in poke")
    expected = EXPECTED.get(OUTCOME[name], cls)
    with pytest.raises(expected):
        RaisingSensor(task_id="s", error=original).execute(make_context())
    with pytest.raises(expected):
        RaisingSensor(task_id="s", error=original).execute_complete(make_context(), {})


def test_a_sensor_never_swallows_a_permanent_refusal() -> None:
    """``silent_fail`` keeps poking through errors; a refusal is not one to poke through. And
    ``soft_fail`` turns the refusal into a skip, as Airflow does with its own fail exception."""
    refusal = errors.ConfigError("pipelines/x.yaml: schema.columns: required")
    with pytest.raises(AirflowFailException, match=r"ConfigError \(permanent, not retried\)"):
        RaisingSensor(task_id="s", error=refusal, silent_fail=True).execute(make_context())
    with pytest.raises(AirflowSkipException):
        RaisingSensor(task_id="s", error=refusal, soft_fail=True).execute(make_context())


def test_a_plain_function_task_gets_the_same_rule() -> None:
    def task(kind: type[MlopsError]) -> None:
        raise make(kind, "from a @task")

    wrapped = translate_errors(task)
    assert translate_errors(wrapped) is wrapped  # wrapping twice is wrapping once
    with pytest.raises(AirflowFailException, match=r"NotValidatedError \(permanent, not retried\)"):
        wrapped(errors.NotValidatedError)
    with pytest.raises(AirflowSkipException, match=r"NoChampionError: from a @task"):
        wrapped(errors.NoChampionError)
    with pytest.raises(errors.LockTimeoutError):
        wrapped(errors.LockTimeoutError)


def test_an_operator_may_say_otherwise_for_one_class() -> None:
    """A rollback with no champion fails (its asker must hear it); scoring with none skips."""
    no_champion = errors.NoChampionError("m: no champion to roll back")

    class Strict(Raising):
        error_outcomes = {errors.NoChampionError: "fail"}

    with pytest.raises(AirflowFailException, match=r"NoChampionError \(permanent, not retried\)"):
        Strict(task_id="t", error=no_champion).execute(make_context())
    with pytest.raises(AirflowSkipException):
        Raising(task_id="t", error=no_champion).execute(make_context())
    assert RollbackOperator.error_outcomes == {errors.NoChampionError: "fail"}


OPERATORS: list[tuple[type[PipelineOperator], dict[str, Any]]] = [
    (IngestOperator, {"ds": "2013-01-02"}),
    (ValidateDataOperator, {"ds": "2013-01-02"}),
    (TrainModelOperator, {"reason": "r", "window_days": "", "window_end": "", "force": "false"}),
    (PlanSearchOperator, {"window_days": "", "window_end": "", "force": "false"}),
    (PromoteModelOperator, {"version": "1"}),
    (BatchPredictOperator, {"ds": "2013-01-02"}),
    (DriftReportOperator, {"ds": "2013-01-02"}),
    (RollbackOperator, {"reason": "r", "to_version": ""}),
    (DataAvailableSensor, {"ds": "2013-01-02", "deferrable": False}),
]


@pytest.mark.parametrize(("op_class", "kwargs"), OPERATORS, ids=[c.__name__ for c, _ in OPERATORS])
def test_every_operator_fails_at_once_on_a_pipeline_file_that_is_not_there(
    op_class: type[PipelineOperator], kwargs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not one operator's own try/except: the base's rule, for each of them."""
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path))
    op = op_class(task_id="t", pipeline="no_such_pipeline", **kwargs)
    with pytest.raises(AirflowFailException, match=r"permanent, not retried.*no_such_pipeline") as got:
        op.execute(make_context())
    assert isinstance(got.value.__cause__, MlopsError) and got.value.__cause__.permanent
