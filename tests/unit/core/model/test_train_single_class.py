"""A training window whose target has one class is refused, naming the target, and registers nothing.

Two real days of flights are delivered with every arrival 45 minutes late (a broken label feed):
the files are well typed and pass validation, so only training can see that ``late`` is always true.
"""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.validate import validate_snapshot
from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.errors import DataNotFoundError
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.train import train
from dev.datasets import write_flights
from tests.unit.conftest import World

pytestmark = pytest.mark.unit
DAYS = ["2013-02-12", "2013-02-13"]
KEY = "t/single-class"


def test_a_window_with_a_single_class_is_refused_naming_the_target(world: World) -> None:
    write_flights((world.home / "raw").as_uri(), DAYS)
    for ds in DAYS:
        local = world.home / "raw" / "flights" / f"{ds}.csv"
        df = pd.read_csv(local, dtype=str)
        df["arr_delay"] = df["arr_delay"].where(df["arr_delay"].isna(), "45")
        df.to_csv(local, index=False)
    for ds in DAYS:
        snap = ingest(world.cfg, world.lake, ds)
        assert snap.rows > 500
        assert validate_snapshot(world.cfg, world.lake, ds).success, (
            "the files are valid: only the labels are odd"
        )
        assert set(world.lake.read_parquet(snap.uri)["late"]) == {True}
    assert set(DAYS) <= set(world.catalog.validated_batches())

    name = world.cfg.registered_model_name
    before = [str(v.version) for v in registry.ModelRegistry(world.client, name).versions()]
    with pytest.raises(DataNotFoundError) as refused:
        train(world.cfg, world.lake, world.client, run_key=KEY, end_ds=DAYS[-1], window_days=2, force=True)
    message = str(refused.value)
    assert "flights_delay: the training window 2013-02-12..2013-02-13 has a single class" in message
    assert "the target 'late' is True in all" in message, message

    assert [str(v.version) for v in registry.ModelRegistry(world.client, name).versions()] == before, (
        "nothing registered"
    )
    assert not world.client.search_model_versions(f"name = '{name}' and tags.`{Tag.RUN_KEY}` = '{KEY}'")
    exp = world.client.get_experiment_by_name(world.cfg.experiment_name)
    runs = world.client.search_runs([exp.experiment_id], f"tags.`{Tag.RUN_KEY}` = '{KEY}'")
    assert list(runs) == [], "no training run was started"
    assert not world.lake.exists(world.catalog.holdout_uri(KEY)), "no holdout written"
