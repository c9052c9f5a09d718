"""Data that attacks its viewer, opened in headless Chromium as an admin with a session would.

The view's real app serves a lake and registry whose values carry HTML, script, ``</script>``,
comments and JavaScript URLs in every kind of column (``tests/unit/plugin/hostile.py``), over
uvicorn on loopback; the browser holds Airflow's ``_token`` cookie. Every page kind is opened in
one Chromium session: no dialog may open, a data page's own script may not read the cookie or
fetch, and no request may carry the token but the pages the person opened.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.integration.conftest import free_port
from tests.unit.plugin import hostile
from tests.unit.plugin.hostile import COOKIE, DS, TOKEN, VERSION

pytestmark = pytest.mark.integration
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Served:
    base: str
    world: hostile.Hostile
    #: (path, whether the request carried the session cookie), as the server received them.
    seen: list[tuple[str, bool]] = field(default_factory=list)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import uvicorn
    from fastapi import FastAPI, Request

    home = tmp_path_factory.mktemp("hostile-browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
        for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "MLFLOW_TRACKING_URI"):
            mp.delenv(var, raising=False)
        world = hostile.build(home)
        view = hostile.app(world, mp)
        port = free_port()
        out = Served(f"http://127.0.0.1:{port}", world)

        root = FastAPI()

        @root.middleware("http")
        async def record(request: Request, call_next: Any) -> Any:
            out.seen.append((request.url.path, request.cookies.get(COOKIE) == TOKEN))
            return await call_next(request)

        root.mount("/mlops", view)  # where Airflow's api-server mounts it
        server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.time() + 60
        while not server.started:
            assert time.time() < deadline and thread.is_alive(), "the view did not start"
            time.sleep(0.05)
        try:
            yield out
        finally:
            server.should_exit = True
            thread.join(30)


def _cookie_of(page: Any) -> str:
    """What the page's own script gets for ``document.cookie`` (or the error it raises)."""
    return str(page.evaluate("() => { try { return document.cookie } catch (e) { return e.name } }"))


def _fetch_from(page: Any) -> str:
    """What a script of the page gets when it calls the view's API with the page's credentials."""
    return str(
        page.evaluate(
            """() => fetch('/mlops/api/pipelines', {credentials: 'include'})
                .then(r => 'status ' + r.status, e => 'blocked: ' + e.name)"""
        )
    )


def test_no_page_lets_the_data_act_as_the_viewer(served: Served) -> None:
    from playwright.sync_api import sync_playwright

    name = served.world.cfg.name
    root = f"/mlops/pipelines/{name}"
    data_pages = {  # page -> what shows it rendered
        f"{root}/batches/{DS}/files/{hostile.docs_page(served.world)}": "nav.navbar",
        f"{root}/batches/{DS}/files/validation/docs/index.html": "nav.navbar",
        f"{root}/batches/{DS}/files/drift/report.html": "[id^=root_] *",
        f"{root}/versions/{VERSION}/card": "h1",
    }
    view_pages = {root: "h1", f"{root}/versions/{VERSION}": "h1", f"{root}/batches/{DS}/drift": "h1"}
    dialogs: list[str] = []
    leaks: list[str] = []
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            ctx = browser.new_context()
            ctx.add_cookies([{"name": COOKIE, "value": TOKEN, "url": served.base, "sameSite": "Lax"}])
            ctx.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            ctx.on(
                "request",
                lambda r: (
                    leaks.append(r.url)
                    if TOKEN in r.url or not r.url.startswith((served.base, "data:", "blob:", "about:"))
                    else None
                ),
            )
            for path, ready in {**data_pages, **view_pages}.items():
                page = ctx.new_page()
                response = page.goto(served.base + path)
                assert response is not None and response.status == 200, path
                page.locator(ready).first.wait_for(timeout=60_000)
                page.wait_for_load_state("load")
                if path in data_pages:
                    assert _cookie_of(page) == "SecurityError", path  # an opaque origin
                    assert _fetch_from(page).startswith("blocked"), path
                else:  # the view's own pages: no element made from the data
                    assert page.locator("img[src=x], svg[onload], iframe[srcdoc]").count() == 0, path
                page.close()
            # Inside the sandbox the data docs still work as data docs: a row of the index opens
            # its validation page (a navigation of the page itself, which keeps the session).
            page = ctx.new_page()
            page.goto(f"{served.base}{root}/batches/{DS}/files/validation/docs/index.html")
            row = page.get_by_text(f"ds={DS}").first
            row.wait_for(timeout=60_000)
            with page.expect_response(lambda r: "/validation/docs/validations/" in r.url) as answer:
                row.click()
            assert answer.value.status == 200, answer.value.url
            page.locator("nav.navbar").first.wait_for(timeout=60_000)
            assert _cookie_of(page) == "SecurityError"
            page.close()
            # The drift page frames its report; in the frame, the script is sandboxed as well.
            page = ctx.new_page()
            page.goto(f"{served.base}{root}/batches/{DS}/drift")
            frame = page.frame_locator("iframe.report")
            frame.locator("[id^=root_] *").first.wait_for(timeout=60_000)
            report = next(f for f in page.frames if f.url.endswith("/drift/report.html"))
            assert _cookie_of(report) == "SecurityError"
            page.close()
            assert not dialogs, f"a value of the data opened a dialog: {dialogs}"
            # The forms' own confirmation still runs under the view's script policy (by its hash).
            page = ctx.new_page()
            page.goto(served.base + root)
            page.fill('form[action$="/retrain"] input[name=reason]', "only asked, then dismissed")
            with page.expect_event("dialog", timeout=10_000):
                page.click("#retrain")
            assert dialogs == ["Trigger a training run of this pipeline?"], dialogs
            page.close()
        finally:
            browser.close()
    assert not leaks, f"requests left with the token or to elsewhere: {leaks}"
    # What the person opened, the report the drift page frames, and the browser's own favicon.
    opened = {*data_pages, *view_pages, f"{root}/batches/{DS}/files/drift/report.html", "/favicon.ico"}
    with_cookie = {path for path, cookie in served.seen if cookie}
    assert with_cookie <= opened, f"requests carried the session cookie: {sorted(with_cookie - opened)}"
    vendored = [path for path, cookie in served.seen if path.startswith("/mlops/static/vendor/")]
    assert vendored and all(not c for path, c in served.seen if path in vendored), served.seen
