"""The MLOps view, served by a real ``airflow api-server`` over real state, used as a person would.

The state is made with the core functions (real flights, a real lake on disk, a real MLflow store):
two model versions (a deliberately weak first champion, then a better one), validated batches, a
batch that fails validation, a file refused at ingest, and two drift reports. Then Airflow's own
api-server and DAG processor start on that home, with two users: ``admin`` and ``viewer`` (who may
read DAGs but not trigger them). Routes are checked through HTTP; the view in headless Chromium.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from dev.datasets import daterange, write_flights
from dev.stack import Airflow, Stack, airflow_env
from tests.conftest import PIPELINES, fast_pipelines
from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration
NAME = "flights_delay"
JAN = daterange("2013-01-02", 8)
JUL = "2013-07-08"
DOUBLED = "2013-01-10"  # every row twice: fails the built-in duplicate expectation
REFUSED = "2013-01-11"  # text in a numeric column: refused at ingest, quarantined
USERS = {"admin": "admin-pw-view", "viewer": "viewer-pw-view"}
SHOTS = Path(os.environ.get("AIRFLOW_MLOPS_SCREENSHOTS", "build/screenshots"))


@dataclass
class View:
    home: Path
    base: str
    stack: Stack
    versions: dict[str, str]

    def token(self, user: str) -> str:
        return Airflow(self.base, user, USERS[user]).token()

    def get(self, path: str, user: str | None = "admin") -> tuple[int, dict[str, str], bytes]:
        return self.call("GET", path, user)

    def call(
        self, method: str, path: str, user: str | None, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        from urllib.parse import urlencode

        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        data = None
        if form is not None:
            data = urlencode(form).encode()
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.base}
        req = urllib.request.Request(f"{self.base}{path}", data=data, headers=headers, method=method)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(req, timeout=120) as r:
                return int(r.status), {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return int(e.code), {k.lower(): v for k, v in e.headers.items()}, e.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _build_state(home: Path) -> dict[str, str]:
    """The lake and registry a few days of real use leave behind; returns the version numbers."""
    from airflow_mlops.core.data.ingest import ingest
    from airflow_mlops.core.data.validate import validate_snapshot
    from airflow_mlops.core.foundation import registry, tracking
    from airflow_mlops.core.foundation.config import load_pipeline
    from airflow_mlops.core.foundation.errors import DataContractError
    from airflow_mlops.core.foundation.lake import Lake
    from airflow_mlops.core.foundation.settings import get_settings
    from airflow_mlops.core.model.promote import promote
    from airflow_mlops.core.model.train import train
    from airflow_mlops.core.monitor.drift import monitor_batch
    from airflow_mlops.core.monitor.predict import score_batch

    s = get_settings()
    cfg = load_pipeline(PIPELINES / f"{NAME}.yaml")
    lake, client = Lake(s.lake_root), tracking.configure(tracking_uri=s.mlflow_tracking_uri)
    raw = Path(s.raw_root.removeprefix("file://")) / "flights"
    write_flights(s.raw_root, [*JAN, JUL, DOUBLED, REFUSED])
    (raw / f"{DOUBLED}.csv").write_text(
        (raw / f"{DOUBLED}.csv").read_text()
        + "".join((raw / f"{DOUBLED}.csv").read_text().splitlines(True)[1:])
    )
    text = (raw / f"{REFUSED}.csv").read_text().splitlines(True)
    header = text[0].split(",")
    cells = text[1].split(",")
    cells[header.index("distance")] = "far"
    (raw / f"{REFUSED}.csv").write_text("".join([text[0], ",".join(cells), *text[2:]]))
    for ds in [*JAN, JUL, DOUBLED]:
        ingest(cfg, lake, ds)
        validate_snapshot(cfg, lake, ds)
    with pytest.raises(DataContractError):
        ingest(cfg, lake, REFUSED)

    stump = cfg.model_copy(
        update={"model": cfg.model.model_copy(update={"params": {"max_iter": 1, "max_leaf_nodes": 2}})}
    )
    ctx = {"dag_id": f"{NAME}__train", "run_id": "manual__first"}
    weak = train(stump, lake, client, run_key=f"{NAME}__train/first", end_ds=JAN[-1], airflow_context=ctx)
    assert weak.version and promote(cfg, lake, client, weak.version).promoted
    score_batch(cfg, lake, client, JAN[-1])
    monitor_batch(cfg, lake, client, JAN[-1], f"{NAME}__monitor/jan")
    ctx = {"dag_id": f"{NAME}__train", "run_id": "manual__second"}
    good = train(cfg, lake, client, run_key=f"{NAME}__train/second", end_ds=JAN[-1], airflow_context=ctx)
    assert good.version and promote(cfg, lake, client, good.version).promoted, "the full model beats a stump"
    score_batch(cfg, lake, client, JUL)
    monitor_batch(cfg, lake, client, JUL, f"{NAME}__monitor/jul")
    champ = registry.ModelRegistry(client, cfg.registered_model_name).champion()
    assert champ is not None and str(champ.version) == good.version
    return {"first": weak.version, "second": good.version}


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> Iterator[View]:
    home = tmp_path_factory.mktemp("view")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "AIRFLOW_MLOPS_LAKE_CONN_ID"):
            mp.delenv(var, raising=False)
        mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        versions = _build_state(home)
    pipelines = fast_pipelines(home / "pipelines", timeout_minutes=1, poke_seconds=5, retry_delay=5)
    flights = pipelines / f"{NAME}.yaml"
    d = yaml.safe_load(flights.read_text())
    d["gate"]["approval"] = "required"  # a person answers in the view
    d["schedules"]["train"] = None  # no scheduled run when the DAG is unpaused: only the view's
    flights.write_text(yaml.safe_dump(d, sort_keys=False))
    (home / "airflow").mkdir(exist_ok=True)
    pw = home / "airflow" / "simple_auth_manager_passwords.json"
    pw.write_text(json.dumps(USERS))
    port = free_port()
    env = airflow_env(
        home,
        api_port=port,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin,viewer:viewer",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW_MLOPS_PIPELINES_DIR=str(pipelines),
    )
    for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "AIRFLOW_MLOPS_LAKE_CONN_ID"):
        env.pop(var, None)
    stack = Stack(home, env)
    import subprocess

    subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    base = f"http://127.0.0.1:{port}"
    try:
        stack.start("api-server", ["airflow", "api-server", "--host", "127.0.0.1", "--port", str(port)])
        for name in ("dag-processor", "scheduler", "triggerer"):
            stack.start(name, ["airflow", name])
        api = Airflow(base, "admin", USERS["admin"])
        api.wait_ready(stack, [f"{NAME}__train"], timeout=300)
        api.unpause(f"{NAME}__train")
        yield View(home, base, stack, versions)
    finally:
        stack.stop()


def _stuck(view: View, api: Airflow, dag_id: str, run_id: str, state: str) -> str:
    """Why a run did not finish: its task states and the tails of the scheduler's and triggerer's logs."""
    from airflow_client.client import TaskInstanceApi

    tis = TaskInstanceApi(api.client).get_task_instances(dag_id, run_id, limit=100).task_instances
    states = {t.task_id: f"{t.state} (try {t.try_number})" for t in tis}
    tails = []
    for name in ("scheduler", "triggerer"):
        lines = view.stack.log_path(name).read_text(errors="replace").splitlines()[-30:]
        tails.append(f"--- {name} log, last lines:\n" + "\n".join(lines))
    return f"run {run_id} still {state}; tasks {states}\n" + "\n".join(tails)


def _routes() -> list[tuple[str, str]]:
    """Every (method, path) of the plugin's app, with sample path parameters."""
    from fastapi.routing import APIRoute

    from airflow_mlops.plugin.app import create_app
    from airflow_mlops.plugin.sandbox import PREFIX

    sample = {
        "run_id": "manual__x",
        "name": NAME,
        "version": "2",
        "ds": JUL,
        "path": "drift/report.html",
        "dag_id": f"{NAME}__train",
        "asset": "bootstrap-4.3.1.min.css",
    }
    out = []
    for r in create_app().routes:
        if isinstance(r, APIRoute):
            path = r.path
            for k, v in sample.items():
                path = path.replace(f"{{{k}}}", v).replace(f"{{{k}:path}}", v)
            out += [(m, PREFIX + path) for m in sorted(r.methods)]
    return out


def test_every_route_of_the_plugin_refuses_an_anonymous_caller(view: View) -> None:
    routes = _routes()
    assert len(routes) >= 9, routes
    # The vendored CSS/JS/fonts are public: they hold no data, and the sandboxed data docs that
    # load them send no cookie (plugin/sandbox.py).
    public = [r for r in routes if r[1].startswith("/mlops/static/vendor/")]
    assert len(public) == 1 and view.call(*public[0], None)[0] == 200
    for method, path in (r for r in routes if r not in public):
        form = {"reason": "anonymous try", "to": "1"} if method == "POST" else None
        status, _, body = view.call(method, path, None, form)
        assert status in (401, 403), f"{method} {path}: HTTP {status} {body[:200]!r}"
        assert b"roc_auc" not in body and b"champion" not in body.lower()


def test_the_view_is_in_the_ui_navigation_and_on_each_dag(view: View) -> None:
    status, _, body = view.get("/api/v2/plugins")
    assert status == 200
    plugin = next(p for p in json.loads(body)["plugins"] if p["name"] == "airflow_mlops")
    views = {(v["destination"], v["href"]) for v in plugin["external_views"]}
    assert {("nav", "/mlops/"), ("dag", "/mlops/dags/{DAG_ID}")} <= views
    status, headers, _ = view.get(f"/mlops/dags/{NAME}__monitor")
    assert status == 303 and headers["location"].endswith(f"/mlops/pipelines/{NAME}")


def test_the_pages_show_champion_decisions_validation_and_drift(view: View) -> None:
    first, second = view.versions["first"], view.versions["second"]
    status, headers, body = view.get("/mlops/")
    page = body.decode()
    assert status == 200 and "content-security-policy" in headers
    assert f"<b>v{second}</b> roc_auc = " in page and f"{JUL}: " in page and "DRIFT" in page

    status, _, body = view.get(f"/mlops/pipelines/{NAME}")
    page = body.decode()
    assert status == 200
    assert f"v{first}</a>" in page and f"v{second}</a> <b>champion</b>" in page
    assert "first model: roc_auc" in page and f"vs champion v{first}" in page and "better by" in page
    assert page.count("<svg") == 2 and "share of drifted columns per batch" in page
    assert "quarantined at ingest" in page and "distance" in page and "far" in page
    assert "expect_compound_columns_to_be_unique" in page
    assert f'/batches/{JUL}/drift">report' in page
    assert not re.search(r"<link|<script[^>]+src=|<img[^>]+src=[\"']https?:", page), "loads nothing"

    status, _, body = view.get(f"/mlops/api/pipelines/{NAME}")
    detail = json.loads(body)
    # Newest first; the browser test of this module may have added a later version (and rolled it
    # back to the second), so the two this module's fixture made are looked up by number.
    numbers = [v["version"] for v in detail["versions"]]
    assert numbers == sorted(numbers, key=int, reverse=True) and numbers[-2:] == [second, first]
    by = {v["version"]: v for v in detail["versions"]}
    assert by[second]["champion"] and by[second]["decision"]["promoted"] and not by[first]["champion"]
    assert by[second]["previous_champion"] == first
    assert {b["ds"] for b in detail["batches"]} >= {*JAN, JUL, DOUBLED, REFUSED}

    status, _, body = view.get(f"/mlops/pipelines/{NAME}/versions/{second}")
    page = body.decode()
    assert status == 200 and "config hash" in page and f"{NAME}__train / manual__second" in page
    assert all(ds in page for ds in JAN)
    assert "<h2>Model card</h2>" in page and "champion" in page.split("<h2>Model card</h2>")[1]
    status, headers, body = view.get(f"/mlops/pipelines/{NAME}/versions/{second}/card")
    assert status == 200 and b"<html" in body.lower() and b"roc_auc" in body


def test_reports_are_served_whole_and_offline(view: View) -> None:
    status, headers, body = view.get(f"/mlops/pipelines/{NAME}/batches/{JUL}/files/drift/report.html")
    assert status == 200 and headers["content-type"].startswith("text/html") and len(body) > 100_000
    assert headers["content-security-policy"].startswith("sandbox allow-scripts;")
    status, headers, body = view.get(
        f"/mlops/pipelines/{NAME}/batches/{JAN[0]}/files/validation/docs/index.html"
    )
    assert status == 200, body[:300]
    text = body.decode()
    assert not re.search(
        r"<link[^>]+href=[\"']https?:|<(?:script|img)[^>]+src=[\"']https?:|url\([\"']?https?:", text
    )
    # Bootstrap and jQuery of the same versions come from the plugin, not a CDN; both are served.
    local = re.findall(r'(?:href|src)="(/mlops/static/vendor/[^"]+)"', text)
    assert {u.rsplit("/", 1)[1] for u in local} >= {
        "bootstrap-4.3.1.min.css",
        "jquery-3.7.1.min.js",
        "all.min.css",
    }
    for url in local:
        status, headers, body = view.get(url)
        assert status == 200 and len(body) > 5_000, url
        assert headers["content-type"].startswith(("text/css", "text/javascript")), headers
    assert view.get(local[0], user=None)[0] == 200  # public: the sandboxed page sends no cookie
    font = "/mlops/static/vendor/fontawesome-free-6.6.0/webfonts/fa-solid-900.woff2"
    status, headers, _ = view.get(font)  # what the icon stylesheet's relative url() asks for
    assert status == 200 and headers["content-type"] == "font/woff2"
    for path in ("..%2Fapp.py", "../app.py", "fontawesome-free-6.6.0/../../app.py", "LICENSES.md"):
        assert view.get(f"/mlops/static/vendor/{path}")[0] == 404, path
    status, _, body = view.get(f"/mlops/pipelines/{NAME}/batches/{JUL}/drift")
    assert status == 200 and b"<iframe" in body


@pytest.mark.parametrize(
    "path",
    [
        "../manifest.json",
        "drift/../../manifest.json",
        "drift/..%2f..%2fmanifest.json",
        "%2e%2e/%2e%2e/flights_delay/batches/ds=2013-07-08/manifest.json",
        "..%252f..%252fmanifest.json",
        "/etc/passwd",
        "drift//report.html",
        "validation/docs/../../../../../etc/passwd",
        "predictions/predictions.parquet",
        "manifest.json",
        "drift/report.html%00.png",
        "drift\\..\\manifest.json",
    ],
)
def test_report_files_refuse_traversal_and_other_files(view: View, path: str) -> None:
    status, _, body = view.get(f"/mlops/pipelines/{NAME}/batches/{JUL}/files/{path}")
    assert status == 404, f"{path}: HTTP {status} {body[:200]!r}"
    status, _, _ = view.get(f"/mlops/pipelines/{NAME}/batches/..%2F..%2F/files/drift/report.html")
    assert status == 404


def test_a_browser_without_a_session_is_sent_to_airflow_login_and_back(view: View) -> None:
    req = urllib.request.Request(f"{view.base}/mlops/pipelines/{NAME}", headers={"Accept": "text/html"})
    try:
        urllib.request.build_opener(_NoRedirect).open(req, timeout=60)
        raise AssertionError("an anonymous page request was answered")
    except urllib.error.HTTPError as e:
        assert e.code == 303, e.code
        target = e.headers["location"]
    assert target.startswith(f"{view.base}/api/v2/auth/login?next="), target
    assert urllib.parse.unquote(target.split("next=", 1)[1]) == f"{view.base}/mlops/pipelines/{NAME}"
    status, _, _ = view.get(f"/mlops/api/pipelines/{NAME}", user=None)
    assert status == 401  # scripts get the plain refusal


def test_a_viewer_reads_but_may_not_retrain_or_roll_back(view: View) -> None:
    status, _, body = view.get(f"/mlops/pipelines/{NAME}", user="viewer")
    assert status == 200 and b'id="retrain"' not in body and b'id="rollback"' not in body
    for action in ("retrain", "rollback", "approvals/manual__x"):
        form = {"reason": "not mine", "choice": "Approve"}
        status, _, _ = view.call("POST", f"/mlops/pipelines/{NAME}/{action}", "viewer", form)
        assert status == 403, action


def test_a_cross_site_form_is_refused(view: View) -> None:
    from urllib.parse import urlencode

    req = urllib.request.Request(
        f"{view.base}/mlops/pipelines/{NAME}/rollback",
        data=urlencode({"reason": "forged"}).encode(),
        headers={
            "Authorization": f"Bearer {view.token('admin')}",
            "Origin": "http://evil.example",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=60)
    assert e.value.code == 403


# --- in a real browser -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser(view: View) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )  # fmt: skip
        ctx = b.new_context(viewport={"width": 1400, "height": 1000})
        _log_in(ctx, view, "admin")
        yield ctx
        b.close()


def _log_in(ctx: Any, view: View, user: str) -> None:
    """Open the view without a session: Airflow's own login form, then back to the view."""
    page = ctx.new_page()
    page.goto(f"{view.base}/mlops/")
    page.wait_for_selector("input[name=username]", timeout=60_000)
    assert "/auth/login" in page.url and "next=" in page.url, page.url
    _shot(page, "0-airflow-login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", USERS[user])
    page.click("button[type=submit]")
    page.wait_for_url(f"{view.base}/mlops/", timeout=60_000)
    page.wait_for_selector(f'[data-pipeline="{NAME}"]')
    page.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_in_the_browser_a_person_sees_the_champion_and_opens_a_drift_report(view: View, browser: Any) -> None:
    airflow_ui = browser.new_page()
    airflow_ui.goto(f"{view.base}/plugin/mlops")
    airflow_ui.frame_locator("iframe").first.get_by_text("Pipelines").first.wait_for(timeout=60_000)
    _shot(airflow_ui, "1-airflow-ui-mlops-nav")
    # What the Airflow UI itself loads is Airflow's business, and it may still be loading: the
    # view's own requests are watched on a page of their own.
    airflow_ui.close()
    page = browser.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith((view.base, "data:", "blob:", "about:"))
            else outside.append(f"{r.url} (from {r.frame.url})")
        ),
    )
    page.goto(f"{view.base}/mlops/")
    assert f"v{view.versions['second']}" in page.inner_text(f'[data-pipeline="{NAME}"]')
    page.click(f"text={NAME}")
    page.wait_for_url(f"**/mlops/pipelines/{NAME}")
    assert page.locator("svg").count() == 2
    _shot(page, "2-pipeline")
    page.goto(f"{view.base}/mlops/pipelines/{NAME}/batches/{JAN[0]}/files/validation/docs/index.html")
    navbar = page.locator("nav.navbar").first
    navbar.wait_for(timeout=60_000)
    # Bootstrap's .navbar is a flex box; unstyled HTML would leave it a block.
    assert navbar.evaluate("e => getComputedStyle(e).display") == "flex"
    icon = page.locator('i[class*="fa-"]').first  # the status column is an icon
    icon.wait_for(timeout=30_000)
    assert page.evaluate("""async () => { await document.fonts.ready;
        return document.fonts.check('900 16px "Font Awesome 6 Free"'); }""")
    _shot(page, "2b-validation-data-docs")
    page.goto(f"{view.base}/mlops/pipelines/{NAME}")
    page.click(f'a[href$="/batches/{JUL}/drift"]')
    report = page.frame_locator("iframe.report")
    report.locator("body").wait_for(timeout=60_000)
    _shot(page, "3-drift-report")
    assert not outside, f"the view fetched from elsewhere: {outside[:5]}"


def test_in_the_browser_retrain_approve_and_roll_back(view: View, browser: Any) -> None:
    """Retrain from the view; the gate passes the candidate and Airflow waits for a person; approve
    it in the view and the alias moves; roll back and the previous champion returns."""
    import time

    from airflow_mlops.core.foundation import registry, tracking

    client = tracking.configure(tracking_uri=f"sqlite:///{view.home / 'mlflow' / 'mlflow.db'}")
    second = view.versions["second"]
    page = browser.new_page()
    page.on("dialog", lambda d: d.accept())
    api = Airflow(view.base, "admin", USERS["admin"])
    before = len(api.runs(f"{NAME}__train"))
    page.goto(f"{view.base}/mlops/pipelines/{NAME}")
    page.fill('form[action$="/retrain"] input[name=reason]', "browser test retrain")
    page.fill('form[action$="/retrain"] input[name=training_window_days]', "365")
    page.check('form[action$="/retrain"] input[name=force]')
    page.click("#retrain")
    page.wait_for_selector(".flash.ok")
    assert "browser test retrain" in page.inner_text(".flash.ok")
    runs = api.runs(f"{NAME}__train")
    assert len(runs) == before + 1 and runs[0].conf["reason"] == "browser test retrain"
    run_id = runs[0].dag_run_id

    def run_state() -> str:
        return str(getattr(api.dag_runs.get_dag_run(f"{NAME}__train", run_id).state, "value", "?"))

    deadline = time.time() + 600
    while not page.locator(f'.approval[data-run="{run_id}"]').count():
        state = run_state()
        assert time.time() < deadline and state in ("queued", "running"), f"run {run_id} {state}, no approval"
        time.sleep(5)
        page.reload()
    _shot(page, "4-waiting-for-approval")
    assert "passed the gate, waiting for approval" in page.inner_text("table")
    waiting = page.inner_text(f'.approval[data-run="{run_id}"]')
    assert f"champion v{second}" in waiting and "roc_auc" in waiting, waiting
    page.fill(f'.approval[data-run="{run_id}"] input[name=comment]', "looks right")
    page.click(f'.approval[data-run="{run_id}"] button.approve')
    page.wait_for_selector(".flash.ok")
    assert "approved by admin" in page.inner_text(".flash.ok")
    deadline = time.time() + 300
    while (state := run_state()) not in ("success", "failed"):
        assert time.time() < deadline, _stuck(view, api, f"{NAME}__train", run_id, state)
        time.sleep(3)
    assert state == "success"
    champ = registry.ModelRegistry(client, NAME).champion()
    assert champ is not None and str(champ.version) not in (view.versions["first"], second)
    tags = registry.tags_of(champ)
    assert tags["promotion.approval.by"] == "admin" and tags["promotion.approval.reason"] == "looks right"
    approved = str(champ.version)

    # From the training task in Airflow's own task page to the version it made, in the view.
    status, _, body = view.get(
        f"/api/v2/dags/{NAME}__train/dagRuns/{quote(run_id)}/taskInstances/train/links"
    )
    want = f"{view.base}/mlops/pipelines/{NAME}/versions/{approved}"
    assert status == 200 and json.loads(body)["extra_links"]["Model version (MLOps)"] == want, body
    page.goto(f"{view.base}/dags/{NAME}__train/runs/{quote(run_id)}/tasks/train")
    page.get_by_text("Details", exact=True).click()  # Airflow 3.3 shows extra links on this tab
    link = page.get_by_role("link", name="Model version (MLOps)")
    try:
        link.wait_for(timeout=60_000)
    finally:
        _shot(page, "4b-task-extra-links")
    assert link.get_attribute("href") == want
    link.click()  # Airflow opens a same-origin link in the same tab
    page.wait_for_url(want, timeout=60_000)
    assert f"v{approved}" in page.inner_text("h1")

    page.goto(f"{view.base}/mlops/pipelines/{NAME}")
    page.fill('form[action$="/rollback"] input[name=reason]', "browser test rollback")
    page.click("#rollback")
    page.wait_for_selector(".flash")
    _shot(page, "5-after-rollback")
    assert f"v{approved} rolled back to v{second}" in page.inner_text(".flash.ok")
    champ = registry.ModelRegistry(client, NAME).champion()
    assert champ is not None and str(champ.version) == second
    assert registry.tags_of(champ)["rollback.restored.by"] == "admin"
