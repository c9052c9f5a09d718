"""MlopsNotifier: a pipeline's alerts (built in ``core.presentation.alerts``) to a Slack-compatible
webhook and by e-mail, through Airflow connections. Delivery never raises (a failure is logged,
naming the connection): a chat or mail outage must not become a pipeline outage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow.sdk import BaseNotifier, Context

from airflow_mlops.core.foundation.config import AlertsConfig
from airflow_mlops.core.presentation.alerts import Alert, email_message, run_failed_alert, slack_payload
from airflow_mlops.hooks.alerts import SmtpAlertHook, WebhookHook

log = logging.getLogger("airflow_mlops.alerts")


def view_base(alerts: AlertsConfig) -> str | None:
    """The base URL of links: the pipeline's ``alerts.view_url``, else Airflow's ``[api] base_url``."""
    if alerts.view_url:
        return alerts.view_url
    from airflow.sdk.configuration import conf

    value = conf.get("api", "base_url", fallback=None)
    return str(value) if value else None


def deliver(alerts: AlertsConfig, alert: Alert) -> list[str]:
    """Send ``alert`` to every receiver configured; the failures, each logged as an error, never raised."""
    if not alerts.wants(alert.kind):
        return []
    errors = []
    channels: list[tuple[str, Any]] = []
    if alerts.webhook_conn_id:
        hook = WebhookHook(alerts.webhook_conn_id)
        channels.append((f"webhook {hook.conn_id!r}", lambda: hook.post(slack_payload(alert))))
    if alerts.email_conn_id:
        mail = SmtpAlertHook(alerts.email_conn_id)
        to = list(alerts.email_to)
        channels.append(
            (f"e-mail {mail.conn_id!r}", lambda: mail.send(email_message(alert, mail.sender(), to), to))
        )
    for name, send in channels:
        try:
            send()
        except Exception as e:
            errors.append(str(e))
            log.error("Alert %s of %s not delivered by %s: %s", alert.kind, alert.pipeline, name, e)
        else:
            log.info("Alert %s of %s delivered by %s: %s", alert.kind, alert.pipeline, name, alert.title)
    return errors


def _ds(context: Mapping[str, Any]) -> str | None:
    start = context.get("data_interval_start")
    if isinstance(start, datetime):
        return start.strftime("%Y-%m-%d")
    ds = context.get("ds")
    return str(ds) if ds else None


class MlopsNotifier(BaseNotifier):
    """Send one pipeline's alert: the given ``alert``, or without one a ``run_failed`` alert built
    from the callback's context (for a DAG's ``on_failure_callback``). Never raises."""

    template_fields = ()

    def __init__(self, *, pipeline: str, alerts: AlertsConfig, alert: Alert | None = None) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.alerts = alerts
        self.alert = alert

    def notify(self, context: Context) -> None:
        try:
            alert = self.alert or self.run_failed(context)
        except Exception as e:  # a callback context without what we expect must not hide the failure
            log.error("Alert of %s not built from the callback context: %s", self.pipeline, e)
            return
        deliver(self.alerts, alert)

    def run_failed(self, context: Mapping[str, Any]) -> Alert:
        """The failed DAG run, its last task and reason, from a DAG callback's context."""
        dag_run, ti, dag = context.get("dag_run"), context.get("ti"), context.get("dag")
        event = {
            "pipeline": self.pipeline,
            "dag_id": getattr(dag_run, "dag_id", None) or getattr(dag, "dag_id", "?"),
            "run_id": context.get("run_id") or getattr(dag_run, "run_id", "?"),
            "task_id": getattr(ti, "task_id", None),
            "reason": context.get("reason"),
            "ds": _ds(context),
        }
        return run_failed_alert(event, view_base(self.alerts))
