"""The flights world the unit tests of training, promotion, scoring, monitoring and the operators share.

Ingesting and validating real days costs seconds, so it is done once per session; each test module
gets its own copy of that lake and a fresh MLflow store, so no module sees another's models.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.core.foundation import registry, tracking
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.lake import Lake
from dev.datasets import daterange, write_flights
from tests.conftest import PIPELINES

JAN = daterange("2013-01-02", 8)
JUL = "2013-07-08"
ENV = (
    "AIRFLOW_MLOPS_LAKE_ROOT",
    "AIRFLOW_MLOPS_RAW_ROOT",
    "AIRFLOW_MLOPS_LAKE_CONN_ID",
    "MLFLOW_TRACKING_URI",
)


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """Point every embedded default at ``home``."""
    for var in ENV:
        mp.delenv(var, raising=False)
    mp.setenv("AIRFLOW_MLOPS_HOME", str(home))


@pytest.fixture(scope="session")
def flights_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight January days and one July day of real flights, raw files written, ingested and validated."""
    from airflow_mlops.core.data.ingest import ingest
    from airflow_mlops.core.data.validate import validate_snapshot
    from dev.datasets import write_flights

    home = tmp_path_factory.mktemp("flights")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, home)
        cfg = load_pipeline(PIPELINES / "flights_delay.yaml")
        lake = Lake((home / "lake").as_uri())
        write_flights((home / "raw").as_uri(), [*JAN, JUL])
        for ds in [*JAN, JUL]:
            ingest(cfg, lake, ds)
            assert validate_snapshot(cfg, lake, ds).success
    return home


def weakened(cfg: PipelineConfig) -> PipelineConfig:
    """``cfg`` with a deliberately weak model (two boosting rounds at a small learning rate): the
    shipped model beats it on any rows both are compared on, whatever the gate's tie rule."""
    params = {**cfg.model.params, "max_iter": 2, "learning_rate": 0.05}
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"params": params})})


@dataclass
class World:
    """A pipeline's lake and MLflow store, in a home of its own."""

    home: Path
    cfg: PipelineConfig
    lake: Lake
    tracking_uri: str
    _champion: str | None = None

    @property
    def catalog(self) -> Catalog:
        return Catalog(self.lake, self.cfg.name)

    @property
    def client(self) -> Any:
        """A client of this world's store; MLflow's process-wide store is pointed here again too."""
        return tracking.configure(tracking_uri=self.tracking_uri)

    def champion(self) -> str:
        """The champion's version, trained on January and promoted the first time it is asked for."""
        from airflow_mlops.core.model.promote import promote
        from airflow_mlops.core.model.train import train

        client = self.client
        champ = registry.ModelRegistry(client, self.cfg.registered_model_name).champion()
        if champ is not None:
            return str(champ.version)
        version = train(self.cfg, self.lake, client, run_key="world/champion", end_ds=JAN[-1]).version
        assert version is not None and promote(self.cfg, self.lake, client, version).promoted
        # A test may have taken the alias away after the promotion was recorded: give it back.
        client.set_registered_model_alias(self.cfg.registered_model_name, registry.CHAMPION, version)
        return version


@contextmanager
def world_copy(
    flights_home: Path, tmp_path_factory: pytest.TempPathFactory, name: str = "world"
) -> Iterator[World]:
    """A copy of the session's flights lake and raw files with an MLflow store of its own, set as
    the environment the operators read while the block runs."""
    home = tmp_path_factory.mktemp(name)
    for part in ("lake", "raw"):
        shutil.copytree(flights_home / part, home / part)
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, home)
        cfg = load_pipeline(PIPELINES / "flights_delay.yaml")
        uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
        yield World(home, cfg, Lake((home / "lake").as_uri()), uri)


def _world(flights_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with world_copy(flights_home, tmp_path_factory) as world:
        yield world


@pytest.fixture(scope="module")
def world(flights_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A copy of the flights home with a fresh MLflow store, for one test module."""
    yield from _world(flights_home, tmp_path_factory)


@pytest.fixture
def fresh_world(flights_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A world of its own for one test that needs an empty registry whatever ran before it."""
    yield from _world(flights_home, tmp_path_factory)


#: A day whose batch the shipped suite refuses (``bad_batch``).
BAD = "2013-02-02"


@pytest.fixture(scope="module")
def bad_batch(world: World) -> str:
    """A real day with five flights from an airport the suite does not know, ingested: validation
    fails it (or quarantines it, as the pipeline says)."""
    import pandas as pd

    from airflow_mlops.core.data.ingest import ingest

    write_flights((world.home / "raw").as_uri(), [BAD])
    raw = world.home / "raw" / "flights" / f"{BAD}.csv"
    df = pd.read_csv(raw, dtype=str)
    df.loc[df.index[:5], "origin"] = "XXX"
    df.to_csv(raw, index=False)
    ingest(world.cfg, world.lake, BAD)
    return BAD
