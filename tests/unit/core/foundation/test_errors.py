"""Each error class of ``core/foundation/errors.py`` says what a task does on it (``airflow_outcome``).

The table below is the contract: every class is in it with its verdict, so a new class (or a
changed verdict) fails here until someone decides what it is.
"""

from __future__ import annotations

import inspect

import pytest

from airflow_mlops.core.foundation import errors
from airflow_mlops.core.foundation.errors import MlopsError

pytestmark = pytest.mark.unit

#: Every error class and what a task does on it.
OUTCOME = {
    "ConfigError": "fail",
    "DataContractError": "fail",
    "DataNotFoundError": "fail",
    "NotValidatedError": "fail",
    "NoChampionError": "skip",
    "UntrustedModelError": "fail",
    "UnsafeSourceError": "fail",
    "VanishedDataError": "fail",
    "LakeWriteError": "retry",
    "LockTimeoutError": "retry",
    "PromotionConflictError": "retry",
}
#: Whether the same input fails the same way however often it is tried.
PERMANENT = {name: outcome != "retry" for name, outcome in OUTCOME.items()}


def error_classes() -> list[type[MlopsError]]:
    return [
        c
        for c in vars(errors).values()
        if inspect.isclass(c) and issubclass(c, MlopsError) and c is not MlopsError
    ]


def make(cls: type[MlopsError], message: str) -> MlopsError:
    if cls is errors.NotValidatedError:
        return cls(message, pipeline="p", ds="2013-01-02", status="quarantined")
    return cls(message)


def test_the_table_names_every_error_class_and_each_says_what_it_is() -> None:
    found = {c.__name__: c for c in error_classes()}
    assert sorted(found) == sorted(OUTCOME), "a new error class needs its verdict in OUTCOME"
    for name, cls in found.items():
        assert vars(cls)["airflow_outcome"] == OUTCOME[name], name
        assert cls.permanent is PERMANENT[name], name


def test_an_error_class_that_does_not_say_cannot_be_defined() -> None:
    with pytest.raises(TypeError, match=r"must say what a task does on it"):
        type("Vague", (MlopsError,), {})
    with pytest.raises(TypeError, match=r"must say what a task does on it"):
        type("OnlyPermanent", (errors.DataNotFoundError,), {"permanent": True})
    with pytest.raises(TypeError, match=r"got 'later'"):
        type("Unknown", (MlopsError,), {"airflow_outcome": "later"})
    # Inheriting the parent's verdict is not saying it either.
    with pytest.raises(TypeError, match=r"Inherits"):
        type("Inherits", (errors.ConfigError,), {})
