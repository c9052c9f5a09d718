"""MlopsNotifier against real receivers on loopback: an HTTP server that records what is POSTed and
an SMTP server (aiosmtpd) that records what is sent. Connections come from ``AIRFLOW_CONN_*``
variables, as Airflow reads them. A receiver that fails never fails the caller, and the
connection's secrets never show in an alert, an error or a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_mlops.core.foundation.config import AlertsConfig
from airflow_mlops.core.presentation.alerts import drift_alert, slack_payload
from airflow_mlops.hooks.alerts import AlertDeliveryError, WebhookHook
from airflow_mlops.notifiers import MlopsNotifier
from airflow_mlops.notifiers.alerts import deliver
from tests.conftest import free_port
from tests.unit.receivers import Mailbox, Webhook, connect, serve_smtp, serve_webhook

pytestmark = pytest.mark.unit

BASE = "http://127.0.0.1:8080"
LINK = f"{BASE}/mlops/pipelines/flights_delay"
# Secrets built at run time, so that no file holds one that looks real.
TOKEN = "T0TEST/B0TEST/" + "tok" * 8
SMTP_SECRET = "pw-" + "5e" * 8
SMTP_LOGIN = "mlops-bot"
DRIFT = {
    "pipeline": "flights_delay",
    "ds": "2013-07-08",
    "model_version": "3",
    "drift_share": 0.625,
    "drifted_columns": ["dep_delay", "distance"],
    "n_columns": 8,
    "threshold": 0.5,
    "drift_detected": True,
    "html_uri": "file:///lake/report.html",
}


# --- the receivers ------------------------------------------------------------------------------------
@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with serve_webhook() as hook:
        yield hook


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    with serve_smtp(SMTP_LOGIN, SMTP_SECRET) as box:
        yield box


@pytest.fixture
def receivers(webhook: Webhook, smtp: Mailbox, monkeypatch: pytest.MonkeyPatch) -> AlertsConfig:
    """Both connections, on loopback; the webhook's token is the connection's password."""
    connect(
        monkeypatch,
        "mlops_hook",
        conn_type="http",
        host="127.0.0.1",
        port=webhook.port,
        schema="http",
        password=TOKEN,
        extra={"endpoint": "services", "headers": {"X-Team": "ml"}},
    )
    connect(
        monkeypatch,
        "mlops_smtp",
        conn_type="smtp",
        host="127.0.0.1",
        port=smtp.port,
        login=SMTP_LOGIN,
        password=SMTP_SECRET,
        extra={"from_email": "airflow@example.com", "starttls": False},
    )
    return AlertsConfig(
        webhook_conn_id="mlops_hook",
        email_conn_id="mlops_smtp",
        email_to=["ml-team@example.com", "oncall@example.com"],
        view_url=BASE,
    )


def alert() -> Any:
    a = drift_alert(DRIFT, BASE)
    assert a is not None
    return a


def no_secret_in(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text and "tok" * 8 not in text and SMTP_SECRET not in text


# --- delivery -------------------------------------------------------------------------------------------
def test_the_webhook_gets_the_slack_json_at_the_connections_url(
    webhook: Webhook, receivers: AlertsConfig
) -> None:
    assert deliver(receivers, alert()) == []
    [(path, headers, _)] = webhook.requests
    assert path == f"/services/{TOKEN}"
    assert headers["Content-Type"].startswith("application/json") and headers["X-Team"] == "ml"
    [body] = webhook.bodies()
    assert body == json.loads(json.dumps(slack_payload(alert())))
    assert body["alert"]["kind"] == "drift" and LINK in body["text"]
    no_secret_in(json.dumps(body))


def test_the_mail_reaches_each_recipient_with_subject_and_link(
    smtp: Mailbox, receivers: AlertsConfig
) -> None:
    assert deliver(receivers, alert()) == []
    assert smtp.logins == [(SMTP_LOGIN, SMTP_SECRET)]
    [(sender, rcpts, msg)] = smtp.messages
    assert sender == "airflow@example.com" and rcpts == ["ml-team@example.com", "oncall@example.com"]
    assert msg["Subject"] == "[airflow-mlops] flights_delay: drift detected on batch 2013-07-08"
    assert msg["To"] == "ml-team@example.com, oncall@example.com"
    plain = msg.get_body(("plain",)).get_content()
    assert f"Open in the MLOps view: {LINK}" in plain and "Drifted columns: dep_delay, distance" in plain
    assert f'href="{LINK}"' in msg.get_body(("html",)).get_content()
    no_secret_in(msg.as_string())


def test_only_the_kinds_listed_in_on_are_sent(
    webhook: Webhook, smtp: Mailbox, receivers: AlertsConfig
) -> None:
    only = receivers.model_copy(update={"on": ["promoted"]})
    assert deliver(only, alert()) == []
    assert webhook.requests == [] and smtp.messages == []


@pytest.mark.parametrize("status", [500, 404])
def test_a_failing_webhook_is_logged_naming_the_connection_and_mail_still_goes(
    webhook: Webhook, smtp: Mailbox, receivers: AlertsConfig, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    webhook.status, webhook.echo = status, True  # the receiver even repeats the secret URL back
    with caplog.at_level(logging.INFO, logger="airflow_mlops.alerts"):
        [error] = deliver(receivers, alert())
    assert (
        f"webhook connection 'mlops_hook' (http://127.0.0.1:{webhook.port}) answered HTTP {status}" in error
    )
    assert "error at /services/***" in error
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "'mlops_hook'" in errors[0].getMessage() and "drift" in errors[0].getMessage()
    assert len(smtp.messages) == 1  # one receiver down does not silence the other
    no_secret_in(error, caplog.text)


def test_an_unreachable_webhook_is_an_error_not_an_exception(
    receivers: AlertsConfig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    closed = free_port()  # nothing listens there
    connect(
        monkeypatch,
        "mlops_hook",
        conn_type="http",
        host="127.0.0.1",
        port=closed,
        schema="http",
        password=TOKEN,
    )
    with caplog.at_level(logging.ERROR, logger="airflow_mlops.alerts"):
        errors = deliver(receivers, alert())
    assert len(errors) == 1 and f"'mlops_hook' (http://127.0.0.1:{closed}) unreachable" in errors[0]
    assert "mlops_hook" in caplog.text
    no_secret_in(*errors, caplog.text)


def test_a_refused_smtp_login_names_the_connection_not_the_password(
    webhook: Webhook, smtp: Mailbox, receivers: AlertsConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port, "login": SMTP_LOGIN}
    bad = SMTP_SECRET + "-wrong"
    connect(monkeypatch, "mlops_smtp", **wrong, password=bad, extra={"starttls": False})
    [error] = deliver(receivers, alert())
    assert f"SMTP connection 'mlops_smtp' (127.0.0.1:{smtp.port}) refused the login of 'mlops-bot'" in error
    assert smtp.messages == [] and len(webhook.requests) == 1
    no_secret_in(error)


def test_a_missing_connection_is_named(receivers: AlertsConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_MLOPS_HOOK")
    [error] = deliver(receivers, alert())
    assert "connection 'mlops_hook'" in error and "isn't defined" in error


def test_a_webhook_is_http_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(monkeypatch, "bad_hook", conn_type="http", host="file:///etc/passwd")
    with pytest.raises(AlertDeliveryError, match=r"'bad_hook': scheme 'file' is not http"):
        WebhookHook("bad_hook").post({"text": "x"})


def test_a_full_url_host_keeps_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    connect(
        monkeypatch,
        "url_hook",
        conn_type="http",
        host="https://hooks.example.com/services/",
        password="T/B/X",
    )
    assert WebhookHook("url_hook").target() == (
        "https://hooks.example.com/services/T/B/X",
        "https://hooks.example.com",
    )


# --- as a DAG's on_failure_callback ----------------------------------------------------------------------
def failure_context() -> dict[str, Any]:
    """What the DAG processor hands a DAG's failure callback (its run and last task instance)."""
    dag = DAG("flights_delay__ingest", schedule=None)
    run_id = "scheduled__2013-02-02T00:00:00+00:00"
    return {
        "dag": dag,
        "run_id": run_id,
        "reason": "task_failure",
        "dag_run": SimpleNamespace(dag_id=dag.dag_id, run_id=run_id),
        "ti": SimpleNamespace(task_id="validate"),
        "data_interval_start": datetime(2013, 2, 2, tzinfo=UTC),
    }


def test_a_failed_run_is_alerted_with_its_task_batch_and_links(
    webhook: Webhook, smtp: Mailbox, receivers: AlertsConfig
) -> None:
    MlopsNotifier(pipeline="flights_delay", alerts=receivers)(failure_context())
    [body] = webhook.bodies()
    assert body["alert"]["kind"] == "run_failed" and body["alert"]["ds"] == "2013-02-02"
    assert "flights_delay__ingest" in body["alert"]["title"]
    assert "failed at task validate" in body["text"] and "Reason: task_failure" in body["alert"]["text"]
    run = f"{BASE}/dags/flights_delay__ingest/runs/scheduled__2013-02-02T00%3A00%3A00%2B00%3A00"
    assert body["alert"]["run_link"] == run and f"<{run}|Open the DAG run>" in json.dumps(body["blocks"])
    [(_, _, msg)] = smtp.messages
    assert "flights_delay__ingest run failed for 2013-02-02" in msg["Subject"]


def test_the_failure_callback_only_logs_when_every_receiver_is_down(
    webhook: Webhook,
    receivers: AlertsConfig,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    webhook.status = 503
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLOPS_SMTP", json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": free_port()})
    )
    with caplog.at_level(logging.ERROR, logger="airflow_mlops.alerts"):
        MlopsNotifier(pipeline="flights_delay", alerts=receivers)(failure_context())  # does not raise
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "'mlops_hook'" in errors[0] and "'mlops_smtp'" in errors[1]
    assert len(webhook.requests) == 1
    no_secret_in(caplog.text)
