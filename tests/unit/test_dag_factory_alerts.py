"""The DAG factory puts the alerts notifier on the failure callback of every DAG of a pipeline
whose ``alerts`` section asks for ``run_failed``."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.dag_factory import build_dags
from airflow_mlops.notifiers import MlopsNotifier
from tests.unit.test_base_alerts import SECTION, pipelines

pytestmark = pytest.mark.unit


def test_every_dag_of_an_alerted_pipeline_notifies_a_failed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    dags = build_dags(pipelines(tmp_path, monkeypatch))
    alerted = {i: d for i, d in dags.items() if i.startswith("flights_delay__")}
    assert sorted(alerted) == [
        "flights_delay__ingest",
        "flights_delay__monitor",
        "flights_delay__rollback",
        "flights_delay__train",
    ]
    for dag in alerted.values():
        [notifier] = dag.on_failure_callback  # type: ignore[misc]
        assert isinstance(notifier, MlopsNotifier) and notifier.pipeline == "flights_delay"
        assert notifier.alerts.webhook_conn_id == "mlops_hook"


def test_no_failure_callback_without_alerts_or_without_run_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    dags = build_dags(pipelines(tmp_path, monkeypatch, section=""))
    assert not dags["flights_delay__train"].on_failure_callback
    (tmp_path / "b").mkdir()
    dags = build_dags(pipelines(tmp_path / "b", monkeypatch, section=SECTION + "  on: [drift]\n"))
    assert not dags["flights_delay__train"].on_failure_callback
