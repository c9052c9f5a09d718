"""Alerts where the events happen: a task reports its event through ``PipelineOperator.alert`` (a
no-op without an ``alerts`` section, never an exception). Against a real HTTP receiver on loopback.
The DAG factory's failure callback is in tests/unit/test_dag_factory_alerts.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_mlops.operators import PromoteModelOperator, ValidateDataOperator
from tests.conftest import PIPELINES
from tests.unit.conftest import BAD, World
from tests.unit.operators.conftest import make_context
from tests.unit.receivers import Webhook, connect, serve_webhook

pytestmark = pytest.mark.unit
BASE = "https://airflow.example.com"
SECTION = f"\nalerts:\n  webhook_conn_id: mlops_hook\n  view_url: {BASE}\n"


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    with serve_webhook() as hook:
        connect(monkeypatch, "mlops_hook", conn_type="http", host="127.0.0.1", port=hook.port, schema="http")
        yield hook


def pipelines(tmp_path: Path, mp: pytest.MonkeyPatch, section: str = SECTION) -> Path:
    """The shipped flights pipeline, with ``section`` appended, as the tasks' pipelines folder."""
    d = tmp_path / "pipelines"
    d.mkdir()
    (d / "flights_delay.yaml").write_text((PIPELINES / "flights_delay.yaml").read_text() + section)
    mp.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(d))
    return d


def validate(ds: str) -> ValidateDataOperator:
    return ValidateDataOperator(task_id="validate", pipeline="flights_delay", ds=ds)


def test_a_quarantined_batch_is_alerted_by_the_validate_task(
    world: World, bad_batch: str, webhook: Webhook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipelines(tmp_path, monkeypatch)
    summary = validate(bad_batch).execute(make_context())
    assert summary["status"] == "quarantined"
    [body] = webhook.bodies()
    a = body["alert"]
    assert a["kind"] == "quarantined" and a["pipeline"] == "flights_delay" and a["ds"] == BAD
    assert "expect_column_values_to_be_in_set on column 'origin'" in a["text"]
    assert a["link"] == f"{BASE}/mlops/pipelines/flights_delay"


def test_a_dead_receiver_does_not_fail_the_task(
    world: World, bad_batch: str, webhook: Webhook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook.status = 500
    pipelines(tmp_path, monkeypatch)
    assert validate(bad_batch).execute(make_context())["status"] == "quarantined"
    assert len(webhook.requests) == 1


def test_without_an_alerts_section_nothing_is_sent(
    webhook: Webhook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    pipelines(tmp_path, monkeypatch, section="")
    op = PromoteModelOperator(task_id="promote", pipeline="flights_delay")
    op.alert(make_context(), "promotion", DECISION)
    assert webhook.requests == []


DECISION = {
    "pipeline": "flights_delay",
    "model_name": "flights_delay",
    "candidate_version": "4",
    "champion_version": "3",
    "promoted": False,
    "reason": "roc_auc 0.7001 is not better than champion v3 0.7101 by 0.01",
    "metric": "roc_auc",
    "candidate_score": 0.7001,
    "champion_score": 0.7101,
}


def test_a_refusal_is_alerted_and_a_kind_left_out_of_on_is_not(
    webhook: Webhook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    pipelines(tmp_path, monkeypatch)
    op = PromoteModelOperator(task_id="promote", pipeline="flights_delay")
    op.alert(make_context(), "promotion", DECISION)
    [body] = webhook.bodies()
    assert body["alert"]["kind"] == "refused" and body["alert"]["version"] == "4"
    assert DECISION["reason"] in body["alert"]["text"]

    (tmp_path / "only").mkdir()
    pipelines(tmp_path / "only", monkeypatch, section=SECTION + "  on: [promoted]\n")
    PromoteModelOperator(task_id="promote", pipeline="flights_delay").alert(
        make_context(), "promotion", DECISION
    )
    assert len(webhook.requests) == 1


def test_an_unknown_event_is_logged_not_raised(
    webhook: Webhook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    pipelines(tmp_path, monkeypatch)
    PromoteModelOperator(task_id="promote", pipeline="flights_delay").alert(make_context(), "nope", {})
    assert webhook.requests == []
