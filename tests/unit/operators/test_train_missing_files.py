"""Training with a snapshot gone from the lake fails at once, naming the file: no retry brings it back."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation.errors import DataNotFoundError
from airflow_mlops.operators import TrainModelOperator
from tests.unit.conftest import JAN, World
from tests.unit.operators.conftest import failed_on, make_context

pytestmark = pytest.mark.unit


#: A window that ends in January, so it holds the snapshot the fixture deletes.
PARAMS = {"reason": "r", "window_days": "", "window_end": JAN[-1], "force": "true"}


def test_train_with_a_snapshot_gone_fails_at_once(gone: tuple[World, str]) -> None:
    del gone  # the world it made is what the operator reads
    with pytest.raises(AirflowFailException, match=r"DataNotFoundError \(permanent, not retried\)") as got:
        TrainModelOperator(task_id="train", pipeline="flights_delay", **PARAMS).execute(make_context())
    failed_on(got, DataNotFoundError, f"ds={JAN[2]}/data-")
