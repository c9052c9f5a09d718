"""Who may see and do what in the MLOps view, and how the view reaches Airflow and the state.

Every route asks Airflow's auth manager with the caller's own token (the UI's ``_token`` cookie or
a bearer header): reading a pipeline needs read access to its DAGs, an action the right to trigger
them, and actions go through Airflow's REST API as the caller. Routes reach these through the
module (``access.STATE``), so a test replaces them in one place.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from airflow_mlops.dag_factory import dag_id
from airflow_mlops.plugin.sandbox import PREFIX

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

    from airflow_mlops.core.foundation.config import PipelineConfig


async def current_user(request: Request) -> BaseUser:
    """The caller, from the same token Airflow's own API reads; 401 without a valid one."""
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.security import HTTPAuthorizationCredentials

    auth = request.headers.get("authorization", "")
    bearer = (
        HTTPAuthorizationCredentials(scheme="Bearer", credentials=auth[7:].strip())
        if auth.lower().startswith("bearer ")
        else None
    )
    return await get_user(request, None, bearer)


User = Annotated[Any, Depends(current_user)]  # a BaseUser; Any keeps FastAPI from resolving it


def allowed(user: BaseUser, dag: str, method: str = "GET", run: bool = False) -> bool:
    """Whether the auth manager lets ``user`` read (or, with POST and ``run``, trigger) DAG ``dag``."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return bool(
        get_auth_manager().is_authorized_dag(
            method=method,  # type: ignore[arg-type]
            access_entity=DagAccessEntity.RUN if run else None,
            details=DagDetails(id=dag),
            user=user,
        )
    )


@dataclass
class State:
    """The pipelines, lake and registry, reached the way the CLI reaches them."""

    def pipelines(self) -> tuple[list[PipelineConfig], list[str]]:
        from airflow_mlops.core.foundation.config import load_pipelines
        from airflow_mlops.core.foundation.settings import get_settings

        good, bad = load_pipelines(get_settings().pipelines_dir)
        return good, [str(b) for b in bad]

    def lake(self) -> Any:
        from airflow_mlops.hooks import LakeHook

        return LakeHook().get_lake()

    def client(self) -> Any:
        from airflow_mlops.hooks import MlflowHook

        return MlflowHook().get_client()

    def mlflow_ui(self) -> str | None:
        from airflow_mlops.hooks import MlflowHook

        return MlflowHook().ui_url()


STATE = State()


def readable(user: BaseUser, name: str) -> PipelineConfig:
    """The pipeline ``name`` if ``user`` may read its DAGs; 404 for an unknown one, 403 otherwise."""
    good, _ = STATE.pipelines()
    cfg = next((c for c in good if c.name == name), None)
    if cfg is None:
        raise HTTPException(404, f"no pipeline {name!r}")
    if not allowed(user, dag_id(name, "train")):
        raise HTTPException(403, f"you may not read pipeline {name!r}")
    return cfg


def actionable(request: Request, user: Any, name: str, what: str) -> PipelineConfig:
    """The pipeline ``name`` if this same-origin request's ``user`` may trigger its DAGs (403 else)."""
    same_origin(request)
    cfg = readable(user, name)
    if not allowed(user, dag_id(name, "train"), "POST", run=True):
        raise HTTPException(403, f"you may not {what} pipeline {name!r}")
    return cfg


def same_origin(request: Request) -> None:
    """A form POST must come from a page of this server (a cookie alone does not prove intent)."""
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    host = request.headers.get("host", "")
    if not origin or origin.split("://", 1)[-1].split("/", 1)[0] != host:
        raise HTTPException(403, "cross-origin form submissions are refused")


def airflow_base(request: Request) -> str:
    """The api-server's own URL, as this request reached it (the view is mounted beside the API)."""
    return str(request.base_url).rstrip("/").removesuffix(PREFIX)


def login_redirect(request: Request) -> RedirectResponse | None:
    """A person's browser that opens a page without a session goes to Airflow's login, which
    brings them back here; scripts and API calls keep the plain 401."""
    wants_page = "text/html" in request.headers.get("accept", "") and "/api/" not in request.url.path
    if request.method != "GET" or not wants_page:
        return None
    from airflow.configuration import conf

    base = str(conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return RedirectResponse(f"{base}/api/v2/auth/login?{urlencode({'next': str(request.url)})}", 303)


def back(name: str, **message: str) -> RedirectResponse:
    """Back to the pipeline's page with a message (post/redirect/get: a reload repeats nothing)."""
    return RedirectResponse(f"{PREFIX}/pipelines/{quote(name)}?{urlencode(message)}", status_code=303)


def api(request: Request, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """Airflow's REST API on this api-server, as the caller (their token): (status, JSON or detail)."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    token = request.cookies.get(COOKIE_NAME_JWT_TOKEN) or request.headers.get("authorization", "")[7:]
    req = urllib.request.Request(
        f"{airflow_base(request)}/api/v2/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method=method,
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(r.status), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as err:
        text = err.read().decode(errors="replace")
        try:
            detail = json.loads(text).get("detail", text)
        except (ValueError, AttributeError):
            detail = text
        return int(err.code), str(detail)[:500]


def trigger(request: Request, dag: str, conf: dict[str, Any]) -> tuple[int, str]:
    """``POST /api/v2/dags/{dag}/dagRuns`` as the caller; (status, run id or error)."""
    status, answer = api(request, "POST", f"dags/{quote(dag)}/dagRuns", {"logical_date": None, "conf": conf})
    return status, str(answer["dag_run_id"] if status < 300 else answer)


def pending_approvals(request: Request, name: str) -> list[dict[str, Any]]:
    """Promotions of ``name`` waiting for a person (Airflow's human-in-the-loop details)."""
    status, answer = api(
        request,
        "GET",
        f"dags/{quote(dag_id(name, 'train'))}/dagRuns/~/hitlDetails?response_received=false&limit=20",
    )
    if status >= 300 or not isinstance(answer, dict):
        return []
    return [
        {
            "run_id": d["task_instance"]["dag_run_id"],
            "task_id": d["task_instance"]["task_id"],
            "map_index": d["task_instance"].get("map_index", -1),
            "subject": d.get("subject", ""),
            "body": d.get("body") or "",
            "options": d.get("options") or [],
        }
        for d in answer.get("hitl_details", [])
    ]
