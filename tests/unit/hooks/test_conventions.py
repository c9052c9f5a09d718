"""Every hook follows Airflow's conventions: ``conn_name_attr`` names the attribute that really holds
the connection id, ``default_conn_name`` is declared, and the id comes from an argument."""

from __future__ import annotations

import pytest
from airflow.sdk import BaseHook

from airflow_mlops.hooks import LakeHook, MlflowHook, SmtpAlertHook, WebhookHook

pytestmark = pytest.mark.unit

HOOKS: list[type[BaseHook]] = [LakeHook, MlflowHook, SmtpAlertHook, WebhookHook]


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: h.__name__)
def test_conn_name_attr_holds_the_connection_id_given(hook: type[BaseHook]) -> None:
    assert "default_conn_name" in {k for c in hook.__mro__[:-1] if c is not BaseHook for k in vars(c)}
    instance = hook("my_conn")  # type: ignore[call-arg]
    assert getattr(instance, hook.conn_name_attr) == "my_conn"
    assert hook.hook_name and not hook.hook_name.startswith("default")


@pytest.mark.parametrize("hook", [MlflowHook, SmtpAlertHook, WebhookHook], ids=lambda h: h.__name__)
def test_without_an_argument_the_default_connection_is_used(hook: type[BaseHook]) -> None:
    assert getattr(hook(), hook.conn_name_attr) == hook.default_conn_name  # type: ignore[call-arg]


def test_the_lake_takes_its_connection_from_the_argument_then_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_MLOPS_LAKE_CONN_ID", raising=False)
    assert LakeHook.default_conn_name is None and LakeHook().lake_conn_id is None
    monkeypatch.setenv("AIRFLOW_MLOPS_LAKE_CONN_ID", "from_env")
    assert LakeHook().lake_conn_id == "from_env" == LakeHook().conn_id
    assert LakeHook(lake_conn_id="from_arg").lake_conn_id == "from_arg"


def test_operators_pass_their_lake_connection_to_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_mlops.base import PipelineOperator

    seen: list[str | None] = []

    class Spy(LakeHook):
        def get_lake(self):  # type: ignore[no-untyped-def]
            seen.append(self.lake_conn_id)

    monkeypatch.setattr("airflow_mlops.hooks.lake.LakeHook", Spy)
    op = PipelineOperator(task_id="t", pipeline="p", lake_conn_id="lake_s3")
    op.lake  # noqa: B018
    assert seen == ["lake_s3"]
