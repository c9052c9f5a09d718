"""Real receivers of alerts on loopback, for the notifier and operator tests: an HTTP server that
records what is POSTed to it and an SMTP server (aiosmtpd) that records what is sent through it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import free_port


@dataclass
class Webhook:
    """A loopback HTTP receiver; ``status`` is what it answers, ``echo`` makes it repeat the path."""

    port: int = 0
    status: int = 200
    echo: bool = False
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, _, body in self.requests]


@contextmanager
def serve_webhook() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.requests.append((self.path, dict(self.headers), body))
            text = f"error at {self.path}" if hook.echo else "ok"
            self.send_response(hook.status)
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """What a loopback SMTP server received: (envelope sender, recipients, parsed message), and the
    logins it was offered."""

    port: int
    login: str
    password: str
    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        # handled=False: the server answers 535 itself (True would leave the client waiting).
        return AuthResult(success=(login, password) == (self.login, self.password), handled=False)


@contextmanager
def serve_smtp(login: str, password: str) -> Iterator[Mailbox]:
    """An SMTP server on loopback that accepts only ``login``/``password`` (AUTH without TLS: loopback)."""
    box = Mailbox(port=free_port(), login=login, password=password)
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def connect(mp: pytest.MonkeyPatch, conn_id: str, **conn: Any) -> None:
    """An Airflow connection, as Airflow reads it from ``AIRFLOW_CONN_<ID>`` (JSON)."""
    mp.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
