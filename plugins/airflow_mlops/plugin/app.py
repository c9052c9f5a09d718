"""The MLOps view: a FastAPI app that Airflow's api-server mounts at ``/mlops``.

Who may read and do what is ``access.py`` (nothing is read before its check); state comes from
``core.status``, as for the CLI; every page goes out through ``sandbox.py``. Two routers: ``reads``
(pages and JSON) and ``actions`` (the forms' POSTs, same-origin only). Report files are served only
from a batch's ``drift/`` and ``validation/`` folders (``Catalog.report_uri``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_mlops.dag_factory import dag_id, parse_dag_id
from airflow_mlops.plugin import access, pages
from airflow_mlops.plugin.access import State, User, current_user
from airflow_mlops.plugin.sandbox import PREFIX, asset_response, data_response, media_type
from airflow_mlops.plugin.sandbox import page_response as html

if TYPE_CHECKING:
    from airflow_mlops.core.foundation.config import PipelineConfig

__all__ = ["State", "create_app", "current_user"]

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"


def create_app() -> FastAPI:
    """The view's app: both routers, and a login redirect for a person's browser without a session."""
    app = FastAPI(title="airflow-mlops", description="The MLOps view of airflow-mlops pipelines.")
    app.add_exception_handler(StarletteHTTPException, unauthenticated)  # type: ignore[arg-type]
    app.include_router(reads)
    app.include_router(actions)
    return app


async def unauthenticated(request: Request, exc: StarletteHTTPException) -> Response:
    from fastapi.exception_handlers import http_exception_handler

    if exc.status_code == 401 and (to_login := access.login_redirect(request)):
        return to_login
    return await http_exception_handler(request, exc)


reads = APIRouter()
actions = APIRouter()


def _overview(user: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The state of each pipeline ``user`` may read (nothing is opened without one), and the
    problems of the pipelines folder."""
    from airflow_mlops.core.presentation.status import pipeline_status

    good, problems = access.STATE.pipelines()
    mine = [c for c in good if access.allowed(user, dag_id(c.name, "train"))]
    if not mine:
        return [], problems
    lake, client = access.STATE.lake(), access.STATE.client()
    return [pipeline_status(c, lake, client) for c in mine], problems


@reads.get("/", response_class=HTMLResponse)
def overview(user: User) -> HTMLResponse:
    rows, problems = _overview(user)
    return html(pages.page("Pipelines", pages.overview(rows, PREFIX, problems), PREFIX))


@reads.get("/api/pipelines")
def api_pipelines(user: User) -> list[dict[str, Any]]:
    """The overview as JSON: what the page shows, for scripts."""
    return _overview(user)[0]


@reads.get("/api/pipelines/{name}")
def api_pipeline(name: str, user: User) -> dict[str, Any]:
    """One pipeline's versions, decisions and batches as JSON."""
    from airflow_mlops.core.presentation.status import pipeline_detail

    cfg = access.readable(user, name)
    return pipeline_detail(cfg, access.STATE.lake(), access.STATE.client())


@reads.get("/dags/{dag_id}")
def from_dag(dag_id: str, user: User) -> RedirectResponse:
    """The DAG tab of the view: from one of a pipeline's DAGs to the pipeline's page."""
    parsed = parse_dag_id(dag_id)
    name = parsed[0] if parsed else dag_id
    access.readable(user, name)
    return RedirectResponse(f"{PREFIX}/pipelines/{quote(name)}", status_code=303)


@reads.get("/pipelines/{name}", response_class=HTMLResponse)
def pipeline(name: str, request: Request, user: User, ok: str = "", error: str = "") -> HTMLResponse:
    from airflow_mlops.core.presentation.status import pipeline_detail

    cfg = access.readable(user, name)
    detail = pipeline_detail(cfg, access.STATE.lake(), access.STATE.client())
    base = access.airflow_base(request)
    links = {f"{kind} DAG": f"{base}/dags/{dag_id(name, kind)}" for kind in ("ingest", "train", "monitor")}
    mlflow = access.STATE.mlflow_ui()
    if mlflow:
        links["registered model in MLflow"] = f"{mlflow}/#/models/{quote(cfg.registered_model_name)}"
    flash = ("ok", ok) if ok else ("bad", error) if error else None
    can_act = access.allowed(user, dag_id(name, "train"), "POST", run=True)
    pending = access.pending_approvals(request, name)
    body = pages.pipeline_page(detail, PREFIX, links, can_act, f"{base}/required_actions", pending)
    return html(pages.page(name, body, PREFIX, flash))


@reads.get("/pipelines/{name}/versions/{version}", response_class=HTMLResponse)
def version(name: str, version: str, request: Request, user: User) -> HTMLResponse:
    from airflow_mlops.core.presentation.status import pipeline_detail

    cfg = access.readable(user, name)
    detail = pipeline_detail(cfg, access.STATE.lake(), access.STATE.client(), limit=1000)
    v = next((v for v in detail["versions"] if v["version"] == version), None)
    if v is None:
        raise HTTPException(404, f"{name} has no version {version!r}")
    base, lin = access.airflow_base(request), v["lineage"]
    links = {"pipeline": f"{PREFIX}/pipelines/{quote(name)}"}
    if lin["dag_id"] and lin["run_id"]:
        links["the Airflow run that made it"] = (
            f"{base}/dags/{quote(lin['dag_id'])}/runs/{quote(lin['run_id'])}"
        )
    mlflow = access.STATE.mlflow_ui()
    if mlflow:
        links["version in MLflow"] = (
            f"{mlflow}/#/models/{quote(cfg.registered_model_name)}/versions/{version}"
        )
    card = _card(cfg, version)
    return html(pages.page(f"{name} v{version}", pages.version_page(name, v, links, card), PREFIX))


@reads.get("/pipelines/{name}/versions/{version}/card", response_class=HTMLResponse)
def card(name: str, version: str, user: User) -> Response:
    """The version's model card as its own page (what MLflow stores as an artifact)."""
    cfg = access.readable(user, name)
    page = _card(cfg, version, html_page=True)
    if page is None:
        raise HTTPException(404, f"{name} v{version} has no model card yet")
    return data_response(page)


@reads.get("/pipelines/{name}/batches/{ds}/drift", response_class=HTMLResponse)
def drift(name: str, ds: str, user: User) -> HTMLResponse:
    from airflow_mlops.core.foundation.catalog import Catalog

    cfg = access.readable(user, name)
    cat = Catalog(access.STATE.lake(), cfg.name)
    if cat.report_uri(ds, "drift/summary.json") is None:
        raise HTTPException(404, "no such batch")
    root = f"{PREFIX}/pipelines/{quote(name)}"
    summary = cat.drift(ds)
    if summary is not None:  # a batch that did not pass validation: its drift is not the pipeline's
        summary = {**summary, "not_counted": cat.why_drift_not_counted(ds, summary)}
    return html(pages.page(f"{name} {ds}", pages.drift_page(name, ds, summary, root), PREFIX))


@reads.get("/pipelines/{name}/batches/{ds}/files/{path:path}")
def report_file(name: str, ds: str, path: str, user: User) -> Response:
    """A file of a batch's drift or validation reports; anything else is 404."""
    from airflow_mlops.core.foundation.catalog import Catalog
    from airflow_mlops.core.foundation.errors import DataNotFoundError

    cfg = access.readable(user, name)
    lake = access.STATE.lake()
    uri = Catalog(lake, cfg.name).report_uri(ds, path)
    if uri is None:
        raise HTTPException(404, "not a report file")
    try:
        data = lake.read_bytes(uri)
    except DataNotFoundError as err:
        raise HTTPException(404, "no such report file") from err
    return data_response(data, media_type(path))


#: The vendored files, by exact name: nothing else under static/ is served.
SHIPPED = {
    p.relative_to(VENDOR_DIR).as_posix()
    for p in VENDOR_DIR.rglob("*")
    if p.suffix in (".css", ".js", ".woff2")
}


@reads.get("/static/vendor/{asset:path}")
def vendored(asset: str) -> Response:
    """The stylesheets, scripts and fonts that data docs would fetch from a CDN, served from
    here: only the files shipped in ``static/vendor``, by exact name. Public: they hold no
    data, and the data docs that load them run in a sandbox that sends no cookie."""
    if asset not in SHIPPED:
        raise HTTPException(404, "no such file")
    return asset_response((VENDOR_DIR / asset).read_bytes(), media_type(asset))


@actions.post("/pipelines/{name}/retrain")
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
    access.actionable(request, user, name, "retrain")
    conf: dict[str, Any] = {"reason": reason, "force": force == "true"}
    if training_window_days.strip():
        if not training_window_days.strip().isdigit():
            return access.back(
                name, error=f"training_window_days: {training_window_days!r} is not a whole number"
            )
        conf["training_window_days"] = int(training_window_days)
    status, answer = access.trigger(request, dag_id(name, "train"), conf)
    if status >= 300:
        return access.back(name, error=f"Airflow refused the run (HTTP {status}): {answer}")
    return access.back(name, ok=f"Training run {answer} triggered by {user.get_name()}: {reason}")


@actions.post("/pipelines/{name}/approvals/{run_id}")
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
    access.actionable(request, user, name, "approve promotions of")
    if choice not in ("Approve", "Reject"):
        return access.back(name, error=f"choice: {choice!r} is neither Approve nor Reject")
    path = f"dags/{quote(dag_id(name, 'train'))}/dagRuns/{quote(run_id)}/taskInstances/approve/-1/hitlDetails"
    status, detail = access.api(
        request, "PATCH", path, {"chosen_options": [choice], "params_input": {"comment": comment}}
    )
    if status >= 300:
        return access.back(name, error=f"Airflow refused the answer (HTTP {status}): {detail}")
    verb = "approved" if choice == "Approve" else "rejected"
    return access.back(
        name, ok=f"Promotion in run {run_id} {verb} by {user.get_name()}; it is applied in a moment"
    )


@actions.post("/pipelines/{name}/rollback")
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

    cfg = access.actionable(request, user, name, "change")
    if len(reason.strip()) < 3:
        return access.back(name, error="a rollback needs a reason")
    try:
        done = core_rollback(
            cfg,
            access.STATE.lake(),
            access.STATE.client(),
            reason=reason,
            by=user.get_name(),
            to=to.strip() or None,
        )
    except MlopsError as err:
        return access.back(name, error=str(err))
    return access.back(
        name, ok=f"Champion v{done.from_version} rolled back to v{done.to_version} by {done.by}"
    )


def _card(cfg: PipelineConfig, version: str, html_page: bool = False) -> str | None:
    """The version's model card (Markdown, or its HTML page), if one was written."""
    from airflow_mlops.core.model import model_card

    return model_card.read_card(
        access.STATE.client(), cfg.registered_model_name, version, html_page=html_page
    )
