"""Refuse DAG-run triggers whose ``conf`` names a Param the DAG does not have.

Stock Airflow accepts any extra key in ``conf``: a misspelt ``training_windw_days`` would train on
the default window without a word. For airflow-mlops DAGs this API-server middleware answers 400,
naming the unknown and the allowed keys, before a run exists, but only to a caller who may trigger
the DAG (anyone else gets Airflow's own 401/403 and learns nothing). Runs made any other way meet
the same rule in their first task (``params.check_conf``). The pipelines are read again only when
a file in the folder changed: a trigger costs a ``stat`` of each YAML file, not a parse.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from airflow_mlops.core.foundation.config import PipelineConfig

TRIGGER = re.compile(r"^/api/v2/dags/(?P<dag_id>[^/]+)/dagRuns/?$")


Stamp = tuple[tuple[str, int, int], ...]
_lock = threading.Lock()
_cache: dict[Path, tuple[Stamp, dict[str, PipelineConfig]]] = {}


def _stamp(folder: Path) -> Stamp:
    """What identifies the folder's pipeline files as they are now: names, sizes, mtimes."""
    found = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            st = path.stat()
        except OSError:  # removed meanwhile
            continue
        found.append((path.name, st.st_size, st.st_mtime_ns))
    return tuple(found)


def pipelines(folder: Path) -> dict[str, PipelineConfig]:
    """The valid pipelines of ``folder`` by name, read again only when one of its files changed."""
    from airflow_mlops.core.foundation.config import load_pipelines

    stamp = _stamp(folder)
    with _lock:
        cached = _cache.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    good, _ = load_pipelines(folder)
    by_name = {c.name: c for c in good}
    with _lock:
        _cache[folder] = (stamp, by_name)
    return by_name


def allowed_params(dag_id: str) -> set[str] | None:
    """The Params of an airflow-mlops DAG, or None for a DAG that is not ours."""
    from airflow_mlops.core.foundation.settings import get_settings
    from airflow_mlops.dag_factory import parse_dag_id
    from airflow_mlops.params import BY_KIND

    parsed = parse_dag_id(dag_id)
    if parsed is None or parsed[1] not in BY_KIND:
        return None
    name, kind = parsed
    cfg = pipelines(get_settings().pipelines_dir).get(name)
    return None if cfg is None else set(BY_KIND[kind](cfg))


def unknown_keys(dag_id: str, body: bytes) -> tuple[list[str], set[str]]:
    allowed = allowed_params(dag_id)
    if allowed is None:
        return [], set()
    try:
        conf = json.loads(body or b"{}").get("conf") or {}
    except (ValueError, AttributeError):
        return [], allowed  # malformed bodies are Airflow's to refuse
    return (sorted(set(conf) - allowed) if isinstance(conf, dict) else []), allowed


def _token(scope: Scope) -> str | None:
    """The request's JWT: an ``Authorization: Bearer`` header wins over the UI's session cookie."""
    from http.cookies import SimpleCookie

    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers") or []}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    cookie = SimpleCookie(headers.get("cookie", "")).get(COOKIE_NAME_JWT_TOKEN)
    return cookie.value if cookie else None


async def may_trigger(scope: Scope, dag_id: str) -> bool:
    """Whether the request comes from a user Airflow's auth manager lets trigger ``dag_id``."""
    from airflow.api_fastapi.app import get_auth_manager

    from airflow_mlops.plugin.access import allowed

    token = _token(scope)
    if not token:
        return False
    try:
        user = await get_auth_manager().get_user_from_token(token)
    except Exception:  # expired or forged: Airflow itself answers the request
        return False
    return allowed(user, dag_id, "POST", run=True)


class StrictConfMiddleware:
    """Pure ASGI middleware: reads a trigger request's body, checks it, then replays it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = TRIGGER.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        more = True
        while more:
            message = await receive()
            messages.append(message)
            more = message.get("type") == "http.request" and bool(message.get("more_body"))
        body = b"".join(m.get("body", b"") for m in messages)
        dag_id = match.group("dag_id")
        unknown, allowed = unknown_keys(dag_id, body)
        if unknown and await may_trigger(scope, dag_id):
            detail = (
                f"Invalid conf for {dag_id}: unknown param(s) {unknown}; "
                f"this DAG accepts {sorted(allowed) or 'no params'}"
            )
            from starlette.responses import JSONResponse

            await JSONResponse({"detail": detail}, status_code=400)(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
