"""The Params every DAG declares, and the check that refuses a conf naming any other."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.params import BY_KIND, check_conf
from tests.conftest import PIPELINES

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(home) -> PipelineConfig:
    return load_pipeline(PIPELINES / "flights_delay.yaml")


def test_each_kind_declares_its_params_with_the_pipelines_defaults(cfg: PipelineConfig) -> None:
    assert set(BY_KIND) == {"ingest", "monitor", "train", "rollback"}
    assert BY_KIND["ingest"](cfg) == {}
    train = BY_KIND["train"](cfg)
    assert train["training_window_days"].value == cfg.split.training_window_days
    assert set(train) == {"reason", "training_window_days", "end_date", "force"}
    assert set(BY_KIND["rollback"](cfg)) == {"reason", "to_version"}


def test_a_rollback_needs_a_reason_and_a_version_is_a_number(cfg: PipelineConfig) -> None:
    params = BY_KIND["rollback"](cfg)
    with pytest.raises(ValueError):
        params["reason"].resolve()  # no default: the trigger form asks for it
    params["to_version"].resolve("12")
    with pytest.raises(ValueError):
        BY_KIND["rollback"](cfg)["to_version"].resolve("v12")


def context(conf: dict, declared: dict) -> dict:
    return {
        "dag_run": SimpleNamespace(conf=conf, dag_id="flights_delay__train"),
        "dag": SimpleNamespace(params=declared),
    }


def test_a_conf_naming_an_undeclared_param_fails_the_run(cfg: PipelineConfig) -> None:
    declared = BY_KIND["train"](cfg)
    check_conf(context({"reason": "drift", "force": True}, declared))  # type: ignore[arg-type]
    with pytest.raises(AirflowFailException, match=r"flights_delay__train: unknown param\(s\) \['forse'\]"):
        check_conf(context({"forse": True}, declared))  # type: ignore[arg-type]
    with pytest.raises(AirflowFailException, match="this DAG accepts no params"):
        check_conf(context({"x": 1}, {}))  # type: ignore[arg-type]
