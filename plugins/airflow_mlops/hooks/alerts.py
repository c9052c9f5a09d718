"""The receivers of alerts, each from an Airflow connection: a webhook (HTTP connection) and a mail
server (SMTP connection). Where a receiver holds a secret (a webhook token, SMTP credentials), it
stays in the connection, which Airflow masks in logs; messages name the connection, never the secret.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage
from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

TIMEOUT_SECONDS = 10.0
_MAX_BODY = 200


class AlertDeliveryError(Exception):
    """An alert did not reach a receiver; names the connection, never its secrets."""


def _flag(extra: Mapping[str, Any], key: str, default: bool) -> bool:
    value = extra.get(key, default)
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


class _AlertHook(BaseHook):
    conn_name_attr = "conn_id"
    default_conn_name: str

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id or self.default_conn_name

    @cached_property
    def conn(self) -> Any:
        """The connection, looked up once per hook."""
        try:
            return self.get_connection(self.conn_id)
        except Exception as e:  # not found, or a secrets backend's own error
            raise AlertDeliveryError(f"connection {self.conn_id!r}: {e}") from None


class WebhookHook(_AlertHook):
    """A Slack-compatible incoming webhook: JSON POSTed to a URL made from an HTTP connection.

    ``host`` is a host name (``schema`` gives the scheme, default https; ``port`` the port) or a base
    URL; ``extra.endpoint`` is appended, then the ``password``, if any, as the last path segment: a
    Slack webhook's token (``T000/B000/XXXX``) belongs there, where Airflow masks it.
    ``extra.headers`` are sent too (e.g. an ``Authorization`` header).
    """

    default_conn_name = "mlops_alert_webhook"
    conn_type = "http"
    hook_name = "airflow-mlops alert webhook"

    def target(self) -> tuple[str, str]:
        """(URL to POST to, the same without path or secrets, for messages)."""
        conn = self.conn
        host = (conn.host or "").strip()
        if not host:
            raise AlertDeliveryError(f"webhook connection {self.conn_id!r}: no host")
        if "://" in host:
            scheme, _, rest = host.partition("://")
            netloc, _, path = rest.partition("/")
            path = f"/{path}" if path else ""
        else:
            scheme, netloc, path = (conn.schema or "https"), host, ""
        if scheme.lower() not in ("http", "https"):
            # urllib would also open file:// and ftp:// URLs: a webhook is HTTP or nothing.
            raise AlertDeliveryError(f"webhook connection {self.conn_id!r}: scheme {scheme!r} is not http(s)")
        if conn.port and ":" not in netloc:
            netloc = f"{netloc}:{conn.port}"
        url = f"{scheme}://{netloc}{path.rstrip('/')}"
        for part in (str(conn.extra_dejson.get("endpoint") or ""), conn.password or ""):
            if part.strip("/"):
                url += f"/{part.strip('/')}"
        return url, f"{scheme}://{netloc}"

    def _redact(self, text: str) -> str:
        """A receiver may repeat the URL back (in an error page): its token must not reach a log."""
        secret = (self.conn.password or "").strip("/")
        return text.replace(secret, "***") if secret else text

    def post(self, payload: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> int:
        """POST ``payload`` as JSON; the HTTP status (2xx), else AlertDeliveryError."""
        url, shown = self.target()
        what = f"webhook connection {self.conn_id!r} ({shown})"
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "airflow-mlops"}
        extra_headers = self.conn.extra_dejson.get("headers") or {}
        headers.update({str(k): str(v) for k, v in extra_headers.items()})
        body = json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status = int(resp.status)
        except urllib.error.HTTPError as e:
            text = self._redact(e.read(_MAX_BODY).decode("utf-8", "replace").strip())
            raise AlertDeliveryError(
                f"{what} answered HTTP {e.code}" + (f": {text}" if text else "")
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise AlertDeliveryError(f"{what} unreachable: {getattr(e, 'reason', e)}") from None
        if not 200 <= status < 300:
            raise AlertDeliveryError(f"{what} answered HTTP {status}")
        return status


class SmtpAlertHook(_AlertHook):
    """A mail server from an SMTP connection: host, port, login and password; ``extra.from_email``
    (the sender; default the login), ``extra.starttls`` (default true), ``extra.ssl`` (implicit TLS,
    default false), ``extra.timeout`` (seconds, default 10)."""

    default_conn_name = "mlops_alert_smtp"
    conn_type = "smtp"
    hook_name = "airflow-mlops alert mail"

    def sender(self) -> str:
        conn = self.conn
        return str(conn.extra_dejson.get("from_email") or conn.login or "airflow-mlops@localhost")

    def send(self, msg: EmailMessage, to: list[str]) -> None:
        """Send ``msg`` to ``to``; AlertDeliveryError naming the connection when it cannot."""
        conn = self.conn
        extra = conn.extra_dejson
        if not conn.host:
            raise AlertDeliveryError(f"SMTP connection {self.conn_id!r}: no host")
        use_ssl = _flag(extra, "ssl", False)
        starttls = _flag(extra, "starttls", True) and not use_ssl
        port = int(conn.port or (465 if use_ssl else 587 if starttls else 25))
        timeout = float(extra.get("timeout", TIMEOUT_SECONDS))
        what = f"SMTP connection {self.conn_id!r} ({conn.host}:{port})"
        try:
            smtp: smtplib.SMTP
            if use_ssl:
                smtp = smtplib.SMTP_SSL(
                    conn.host, port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(conn.host, port, timeout=timeout)
            with smtp:
                if starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if conn.login:
                    smtp.login(conn.login, conn.password or "")
                refused = smtp.send_message(msg, from_addr=self.sender(), to_addrs=to)
        except smtplib.SMTPAuthenticationError as e:
            raise AlertDeliveryError(f"{what} refused the login of {conn.login!r} ({e.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as e:
            raise AlertDeliveryError(f"{what} failed: {e}") from None
        if refused:
            raise AlertDeliveryError(f"{what} refused the recipients {sorted(refused)}")
