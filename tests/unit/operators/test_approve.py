"""The approval tasks: the person's answer (as Airflow resumes the task with it) becomes small JSON,
and ApplyPromotionOperator carries it out against a real registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.sdk import Asset, AssetAlias
from airflow.sdk.exceptions import AirflowSkipException

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.model.promote import promote
from airflow_mlops.core.model.train import train
from airflow_mlops.operators import ApplyPromotionOperator, ApprovePromotionOperator
from tests.conftest import PIPELINES
from tests.unit.conftest import JAN, World
from tests.unit.operators.conftest import TaskInstance, alias_events, make_context

pytestmark = pytest.mark.unit
ASSET = Asset(name="flights_delay.champion", group="mlops")
ALIAS = AssetAlias(name="flights_delay.champion-approved-alias")
AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _resume_event(option: str, user: dict[str, str] | None, comment: str, timedout: bool) -> dict[str, Any]:
    """What Airflow 3.3 resumes a waiting HITL task with (``HITLDetail.as_resume_event_payload``)."""
    return {
        "chosen_options": [option],
        "params_input": {"comment": comment} if comment else {},
        "responded_at": AT,
        "responded_by_user": user,
        "timedout": timedout,
    }


class AnsweredTaskInstance(TaskInstance):
    """A task instance whose upstream ``approve`` task left ``answer`` in XCom."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__()
        self.answer = answer

    def xcom_pull(self, task_ids: str) -> Any:
        return self.answer if task_ids == "approve" else None


def _ask(version: str) -> ApprovePromotionOperator:
    return ApprovePromotionOperator(
        task_id="approve", pipeline="flights_delay", version=version, response_timeout=timedelta(minutes=5)
    )


def test_the_answer_as_airflow_resumes_the_task_with_it() -> None:
    op = _ask("1")
    assert op.defaults == ["Reject"] and op.response_timeout == timedelta(minutes=5)
    assert list(op.serialized_params) == ["comment"], "the form is the task's own field, not the DAG's Params"
    approved = op.execute_complete(
        make_context(), _resume_event("Approve", {"id": "7", "name": "alice"}, "ok", False)
    )
    assert approved == {
        "approved": True,
        "timed_out": False,
        "by": "alice",
        "at": AT.isoformat(),
        "reason": "ok",
    }
    timeout = op.execute_complete(make_context(), _resume_event("Reject", None, "", True))
    assert timeout == {"approved": False, "timed_out": True, "by": "", "at": AT.isoformat(), "reason": ""}


def test_apply_promotion_carries_out_the_answer(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pipeline's YAML says approval: required (the tasks read it, as in a DAG run).
    data = yaml.safe_load((PIPELINES / "flights_delay.yaml").read_text())
    data["gate"]["approval"] = "required"
    (tmp_path / "flights_delay.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path))
    cfg = load_pipeline(tmp_path / "flights_delay.yaml")
    lake, client, name = world.lake, world.client, cfg.registered_model_name

    first = world.champion()  # judged before approval was required: the gate decided alone
    with pytest.raises(
        AirflowSkipException, match=rf"v{first} is not waiting for approval \(decided by the gate alone\)"
    ):
        _ask(first).execute(make_context())

    # Two six-day models (twins): each beats the eight-day champion on its newer held-out rows.
    waiting = []
    for run in ("a", "b"):
        v = train(cfg, lake, client, run_key=f"oa/6{run}", end_ds=JAN[-1], window_days=6, force=True).version
        d = promote(cfg, lake, client, v)
        assert not d.promoted and d.approval == "pending", d.reason
        waiting.append(v)

    def apply(version: str, answer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        context = make_context(ti=AnsweredTaskInstance(answer))
        op = ApplyPromotionOperator(
            task_id="apply_promotion", pipeline="flights_delay", version=version, asset=ASSET, outlets=[ALIAS]
        )
        return op.execute(context), context

    ask = _ask(waiting[0])
    rejected = ask.execute_complete(
        make_context(), _resume_event("Reject", {"id": "3", "name": "bob"}, "not on a Friday", False)
    )
    decision, context = apply(waiting[0], rejected)
    assert (decision["promoted"], decision["approval"], decision["approval_by"]) == (False, "rejected", "bob")
    assert decision["approval_reason"] == "not on a Friday" and context["ti"].xcoms["decision"] == decision
    assert (
        alias_events(context) == [] and str(registry.ModelRegistry(client, name).champion().version) == first
    )

    approved = ask.execute_complete(
        make_context(), _resume_event("Approve", {"id": "1", "name": "alice"}, "", False)
    )
    decision, context = apply(waiting[1], approved)
    assert (
        decision["promoted"]
        and decision["approval"] == "approved"
        and decision["approval_reason"] == "approved by alice"
    )
    assert str(registry.ModelRegistry(client, name).champion().version) == waiting[1]
    extra = {"version": waiting[1], "previous": first, "reason": decision["reason"], "approved_by": "alice"}
    assert alias_events(context) == [(ALIAS.name, ASSET.name, extra)]
    with pytest.raises(ValueError, match="task 'approve' left no answer in XCom"):
        apply(waiting[1], {})
