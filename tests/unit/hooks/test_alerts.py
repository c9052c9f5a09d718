"""The receivers' hooks (webhook, SMTP) follow Airflow's conventions for a connection. What they
deliver is tested with the notifier that uses them, in tests/unit/notifiers/test_alerts.py."""

from __future__ import annotations

import pytest
from airflow.sdk import BaseHook

from airflow_mlops.hooks import SmtpAlertHook, WebhookHook
from tests.unit.hooks.conftest import assert_airflow_conventions

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("hook", [SmtpAlertHook, WebhookHook], ids=lambda h: h.__name__)
def test_conn_name_attr_holds_the_connection_id_given(hook: type[BaseHook]) -> None:
    assert_airflow_conventions(hook)


@pytest.mark.parametrize("hook", [SmtpAlertHook, WebhookHook], ids=lambda h: h.__name__)
def test_without_an_argument_the_default_connection_is_used(hook: type[BaseHook]) -> None:
    assert getattr(hook(), hook.conn_name_attr) == hook.default_conn_name  # type: ignore[call-arg]
