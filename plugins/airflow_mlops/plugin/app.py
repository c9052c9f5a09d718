"""The MLOps view: a FastAPI app that Airflow's api-server mounts at ``/mlops``.

Every route asks Airflow's auth manager, with the caller's own token (the UI's ``_token`` cookie
or an ``Authorization: Bearer`` header): reading a pipeline needs read access to its DAGs, an
action needs the right to trigger them. Anonymous callers get 401, others 403, and nothing is
read before the check. State comes from ``core.status``, the same functions as the CLI.
Report files are served only from a batch's ``drift/`` and ``validation/`` folders
(``Catalog.report_uri``). Every response that carries a page goes through ``sandbox.py``: pages
made from data (reports, data docs, model cards) in an opaque-origin sandbox, the view's own
pages under a policy that runs no script but their forms' confirmation.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_mlops.plugin import pages
from airflow_mlops.plugin.sandbox import PREFIX, asset_response, data_response, media_type, page_response

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

    from airflow_mlops.core.foundation.config import PipelineConfig

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"


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


def allowed(user: BaseUser, dag_id: str, method: str = "GET", run: bool = False) -> bool:
    """Whether the auth manager lets ``user`` read (or, with POST and ``run``, trigger) ``dag_id``."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return bool(
        get_auth_manager().is_authorized_dag(
            method=method,  # type: ignore[arg-type]
            access_entity=DagAccessEntity.RUN if run else None,
            details=DagDetails(id=dag_id),
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
    if not allowed(user, f"{name}__train"):
        raise HTTPException(403, f"you may not read pipeline {name!r}")
    return cfg


def actionable(request: Request, user: Any, name: str, what: str) -> PipelineConfig:
    """The pipeline ``name`` if this same-origin request's ``user`` may trigger its DAGs (403 else)."""
    same_origin(request)
    cfg = readable(user, name)
    if not allowed(user, f"{name}__train", "POST", run=True):
        raise HTTPException(403, f"you may not {what} pipeline {name!r}")
    return cfg


def same_origin(request: Request) -> None:
    """A form POST must come from a page of this server (a cookie alone does not prove intent)."""
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    host = request.headers.get("host", "")
    if not origin or origin.split("://", 1)[-1].split("/", 1)[0] != host:
        raise HTTPException(403, "cross-origin form submissions are refused")


def html(body: str, status: int = 200) -> HTMLResponse:
    return page_response(body, status)


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


def create_app() -> FastAPI:
    app = FastAPI(title="airflow-mlops", description="The MLOps view of airflow-mlops pipelines.")

    @app.exception_handler(StarletteHTTPException)
    async def unauthenticated(request: Request, exc: StarletteHTTPException) -> Response:
        from fastapi.exception_handlers import http_exception_handler

        if exc.status_code == 401 and (to_login := login_redirect(request)):
            return to_login
        return await http_exception_handler(request, exc)

    @app.get("/", response_class=HTMLResponse)
    def overview(user: User) -> HTMLResponse:
        from airflow_mlops.core.presentation.status import pipeline_status

        good, problems = STATE.pipelines()
        mine = [c for c in good if allowed(user, f"{c.name}__train")]
        rows = []
        if mine:
            lake, client = STATE.lake(), STATE.client()
            rows = [pipeline_status(c, lake, client) for c in mine]
        return html(pages.page("Pipelines", pages.overview(rows, PREFIX, problems), PREFIX))

    @app.get("/api/pipelines")
    def api_pipelines(user: User) -> list[dict[str, Any]]:
        """The overview as JSON: what the page shows, for scripts."""
        from airflow_mlops.core.presentation.status import pipeline_status

        good, _ = STATE.pipelines()
        mine = [c for c in good if allowed(user, f"{c.name}__train")]
        if not mine:
            return []
        lake, client = STATE.lake(), STATE.client()
        return [pipeline_status(c, lake, client) for c in mine]

    @app.get("/api/pipelines/{name}")
    def api_pipeline(name: str, user: User) -> dict[str, Any]:
        """One pipeline's versions, decisions and batches as JSON."""
        from airflow_mlops.core.presentation.status import pipeline_detail

        cfg = readable(user, name)
        return pipeline_detail(cfg, STATE.lake(), STATE.client())

    @app.get("/dags/{dag_id}")
    def from_dag(dag_id: str, user: User) -> RedirectResponse:
        """The DAG tab of the view: from ``<pipeline>__<kind>`` to the pipeline's page."""
        name = dag_id.rpartition("__")[0] or dag_id
        readable(user, name)
        return RedirectResponse(f"{PREFIX}/pipelines/{quote(name)}", status_code=303)

    @app.get("/pipelines/{name}", response_class=HTMLResponse)
    def pipeline(name: str, request: Request, user: User, ok: str = "", error: str = "") -> HTMLResponse:
        from airflow_mlops.core.presentation.status import pipeline_detail

        cfg = readable(user, name)
        detail = pipeline_detail(cfg, STATE.lake(), STATE.client())
        base = airflow_base(request)
        links = {f"{kind} DAG": f"{base}/dags/{name}__{kind}" for kind in ("ingest", "train", "monitor")}
        mlflow = STATE.mlflow_ui()
        if mlflow:
            links["registered model in MLflow"] = f"{mlflow}/#/models/{quote(cfg.registered_model_name)}"
        flash = ("ok", ok) if ok else ("bad", error) if error else None
        can_act = allowed(user, f"{name}__train", "POST", run=True)
        pending = pending_approvals(request, name)
        body = pages.pipeline_page(detail, PREFIX, links, can_act, f"{base}/required_actions", pending)
        return html(pages.page(name, body, PREFIX, flash))

    @app.get("/pipelines/{name}/versions/{version}", response_class=HTMLResponse)
    def version(name: str, version: str, request: Request, user: User) -> HTMLResponse:
        from airflow_mlops.core.presentation.status import pipeline_detail

        cfg = readable(user, name)
        detail = pipeline_detail(cfg, STATE.lake(), STATE.client(), limit=1000)
        v = next((v for v in detail["versions"] if v["version"] == version), None)
        if v is None:
            raise HTTPException(404, f"{name} has no version {version!r}")
        base, lin = airflow_base(request), v["lineage"]
        links = {"pipeline": f"{PREFIX}/pipelines/{quote(name)}"}
        if lin["dag_id"] and lin["run_id"]:
            links["the Airflow run that made it"] = (
                f"{base}/dags/{quote(lin['dag_id'])}/runs/{quote(lin['run_id'])}"
            )
        mlflow = STATE.mlflow_ui()
        if mlflow:
            links["version in MLflow"] = (
                f"{mlflow}/#/models/{quote(cfg.registered_model_name)}/versions/{version}"
            )
        card = _card(cfg, version)
        return html(pages.page(f"{name} v{version}", pages.version_page(name, v, links, card), PREFIX))

    @app.get("/pipelines/{name}/versions/{version}/card", response_class=HTMLResponse)
    def card(name: str, version: str, user: User) -> Response:
        """The version's model card as its own page (what MLflow stores as an artifact)."""
        cfg = readable(user, name)
        page = _card(cfg, version, html_page=True)
        if page is None:
            raise HTTPException(404, f"{name} v{version} has no model card yet")
        return data_response(page)

    @app.get("/pipelines/{name}/batches/{ds}/drift", response_class=HTMLResponse)
    def drift(name: str, ds: str, user: User) -> HTMLResponse:
        from airflow_mlops.core.foundation.catalog import Catalog

        cfg = readable(user, name)
        cat = Catalog(STATE.lake(), cfg.name)
        if cat.report_uri(ds, "drift/summary.json") is None:
            raise HTTPException(404, "no such batch")
        root = f"{PREFIX}/pipelines/{quote(name)}"
        summary = cat.drift(ds)
        if summary is not None:  # a batch that did not pass validation: its drift is not the pipeline's
            summary = {**summary, "not_counted": cat.why_drift_not_counted(ds, summary)}
        return html(pages.page(f"{name} {ds}", pages.drift_page(name, ds, summary, root), PREFIX))

    @app.get("/pipelines/{name}/batches/{ds}/files/{path:path}")
    def report_file(name: str, ds: str, path: str, user: User) -> Response:
        """A file of a batch's drift or validation reports; anything else is 404."""
        from airflow_mlops.core.foundation.catalog import Catalog
        from airflow_mlops.core.foundation.errors import DataNotFoundError

        cfg = readable(user, name)
        lake = STATE.lake()
        uri = Catalog(lake, cfg.name).report_uri(ds, path)
        if uri is None:
            raise HTTPException(404, "not a report file")
        try:
            data = lake.read_bytes(uri)
        except DataNotFoundError as err:
            raise HTTPException(404, "no such report file") from err
        return data_response(data, media_type(path))

    shipped = {
        p.relative_to(VENDOR_DIR).as_posix()
        for p in VENDOR_DIR.rglob("*")
        if p.suffix in (".css", ".js", ".woff2")
    }

    @app.get("/static/vendor/{asset:path}")
    def vendored(asset: str) -> Response:
        """The stylesheets, scripts and fonts that data docs would fetch from a CDN, served from
        here: only the files shipped in ``static/vendor``, by exact name. Public: they hold no
        data, and the data docs that load them run in a sandbox that sends no cookie."""
        if asset not in shipped:
            raise HTTPException(404, "no such file")
        return asset_response((VENDOR_DIR / asset).read_bytes(), media_type(asset))

    @app.post("/pipelines/{name}/retrain")
    def retrain(
        name: str,
        request: Request,
        user: User,
        reason: Annotated[str, Form()],
        training_window_days: Annotated[str, Form()] = "",
        force: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        """Trigger the train DAG through Airflow's own REST API, with the caller's token: the same
        Params validation, conf guard and permissions as any other client."""
        actionable(request, user, name, "retrain")
        conf: dict[str, Any] = {"reason": reason, "force": force == "true"}
        if training_window_days.strip():
            if not training_window_days.strip().isdigit():
                return _back(
                    name, error=f"training_window_days: {training_window_days!r} is not a whole number"
                )
            conf["training_window_days"] = int(training_window_days)
        status, answer = _trigger(request, f"{name}__train", conf)
        if status >= 300:
            return _back(name, error=f"Airflow refused the run (HTTP {status}): {answer}")
        return _back(name, ok=f"Training run {answer} triggered by {user.get_name()}: {reason}")

    @app.post("/pipelines/{name}/approvals/{run_id}")
    def answer(
        name: str,
        run_id: str,
        request: Request,
        user: User,
        choice: Annotated[str, Form()],
        comment: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        """Approve or reject a promotion waiting in run ``run_id``, through Airflow's own
        human-in-the-loop API as the caller (who is recorded as the responder)."""
        actionable(request, user, name, "approve promotions of")
        if choice not in ("Approve", "Reject"):
            return _back(name, error=f"choice: {choice!r} is neither Approve nor Reject")
        path = f"dags/{quote(name)}__train/dagRuns/{quote(run_id)}/taskInstances/approve/-1/hitlDetails"
        status, detail = _api(
            request, "PATCH", path, {"chosen_options": [choice], "params_input": {"comment": comment}}
        )
        if status >= 300:
            return _back(name, error=f"Airflow refused the answer (HTTP {status}): {detail}")
        verb = "approved" if choice == "Approve" else "rejected"
        return _back(
            name, ok=f"Promotion in run {run_id} {verb} by {user.get_name()}; it is applied in a moment"
        )

    @app.post("/pipelines/{name}/rollback")
    def rollback(
        name: str,
        request: Request,
        user: User,
        reason: Annotated[str, Form()],
        to: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        """Give the champion back to the previous one (or ``to``), recording who and why."""
        from airflow_mlops.core.foundation.errors import MlopsError
        from airflow_mlops.core.model.rollback import rollback as core_rollback

        cfg = actionable(request, user, name, "change")
        if len(reason.strip()) < 3:
            return _back(name, error="a rollback needs a reason")
        try:
            done = core_rollback(
                cfg, STATE.lake(), STATE.client(), reason=reason, by=user.get_name(), to=to.strip() or None
            )
        except MlopsError as err:
            return _back(name, error=str(err))
        return _back(name, ok=f"Champion v{done.from_version} rolled back to v{done.to_version} by {done.by}")

    return app


def _back(name: str, **message: str) -> RedirectResponse:
    """Back to the pipeline's page with a message (post/redirect/get: a reload repeats nothing)."""
    return RedirectResponse(f"{PREFIX}/pipelines/{quote(name)}?{urlencode(message)}", status_code=303)


def _api(request: Request, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
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


def _trigger(request: Request, dag_id: str, conf: dict[str, Any]) -> tuple[int, str]:
    """``POST /api/v2/dags/{dag_id}/dagRuns`` as the caller; (status, run id or error)."""
    status, answer = _api(
        request, "POST", f"dags/{quote(dag_id)}/dagRuns", {"logical_date": None, "conf": conf}
    )
    return status, str(answer["dag_run_id"] if status < 300 else answer)


def pending_approvals(request: Request, name: str) -> list[dict[str, Any]]:
    """Promotions of ``name`` waiting for a person (Airflow's human-in-the-loop details)."""
    status, answer = _api(
        request, "GET", f"dags/{quote(name)}__train/dagRuns/~/hitlDetails?response_received=false&limit=20"
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


def _card(cfg: PipelineConfig, version: str, html_page: bool = False) -> str | None:
    """The version's model card (Markdown, or its HTML page), if one was written."""
    from airflow_mlops.core.model import model_card

    return model_card.read_card(STATE.client(), cfg.registered_model_name, version, html_page=html_page)
