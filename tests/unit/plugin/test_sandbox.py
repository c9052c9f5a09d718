"""Every page the view serves, over data that attacks its viewer: what the headers and HTML say.

The browser's side (no dialog, no cookie, no request with the token) is in
``tests/integration/test_view_sandbox.py``; here each response kind is read as bytes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_mlops.core.monitor.report_html import script_json
from tests.unit.plugin import hostile
from tests.unit.plugin.hostile import COOKIE, DS, PAYLOADS, TOKEN, VERSION

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hostile.Hostile]:
    home = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
        for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "MLFLOW_TRACKING_URI"):
            mp.delenv(var, raising=False)
        yield hostile.build(home)


@pytest.fixture
def client(world: hostile.Hostile, monkeypatch: pytest.MonkeyPatch) -> Any:
    from fastapi.testclient import TestClient

    c = TestClient(hostile.app(world, monkeypatch))
    c.cookies.set(COOKIE, TOKEN)
    return c


def data_pages(world: hostile.Hostile) -> dict[str, str]:
    """Each kind of page made from data: its path under the view."""
    root = f"/pipelines/{world.cfg.name}"
    return {
        "data docs (failed values)": f"{root}/batches/{DS}/files/{hostile.docs_page(world)}",
        "data docs index": f"{root}/batches/{DS}/files/validation/docs/index.html",
        "Evidently report": f"{root}/batches/{DS}/files/drift/report.html",
        "model card": f"{root}/versions/{VERSION}/card",
    }


def view_pages(world: hostile.Hostile) -> dict[str, str]:
    root = f"/pipelines/{world.cfg.name}"
    return {"pipeline": root, "drift": f"{root}/batches/{DS}/drift", "version": f"{root}/versions/{VERSION}"}


def _directives(csp: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.partition(" ")[2] for d in (x.strip() for x in csp.split(";")) if d}


KINDS = ["data docs (failed values)", "data docs index", "Evidently report", "model card"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_page_made_from_data_is_served_in_an_opaque_origin(
    world: hostile.Hostile, client: Any, kind: str
) -> None:
    r = client.get(data_pages(world)[kind])
    assert r.status_code == 200, r.text[:300]
    csp = _directives(r.headers["content-security-policy"])
    assert csp["sandbox"] == "allow-scripts", csp  # no allow-same-origin, forms, popups or modals
    assert csp["connect-src"] == "'none'" and csp["form-action"] == "'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", ["drift/report.json", "drift/summary.json", "validation/summary.json"])
def test_every_other_report_file_is_sandboxed_too(world: hostile.Hostile, client: Any, path: str) -> None:
    r = client.get(f"/pipelines/{world.cfg.name}/batches/{DS}/files/{path}")
    assert r.status_code == 200, r.text[:200]
    assert _directives(r.headers["content-security-policy"])["sandbox"] == "allow-scripts"
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("kind", ["pipeline", "drift", "version"])
def test_the_views_own_pages_run_no_script_but_their_confirmation(
    world: hostile.Hostile, client: Any, kind: str
) -> None:
    import base64
    import hashlib

    from airflow_mlops.plugin import pages

    r = client.get(view_pages(world)[kind])
    assert r.status_code == 200, r.text[:300]
    csp = _directives(r.headers["content-security-policy"])
    digest = base64.b64encode(hashlib.sha256(pages.CONFIRM.encode()).digest()).decode()
    assert csp["script-src"] == f"'unsafe-hashes' 'sha256-{digest}'", csp
    assert csp["default-src"] == "'none'" and "sandbox" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    for handler in re.findall(r'\son\w+="([^"]*)"', r.text):  # every inline handler is the allowed one
        assert html.unescape(handler) == pages.CONFIRM


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("kind", [*KINDS, "pipeline", "drift", "version"])
def test_a_value_in_the_data_never_becomes_markup(
    world: hostile.Hostile, client: Any, kind: str, payload: str
) -> None:
    path = {**data_pages(world), **view_pages(world)}[kind]
    text = client.get(path).text
    if "<" in payload or '"' in payload:
        assert payload not in text, f"{kind}: {payload!r} is in the page as written"
    # The value is still shown (as text), where the page kind shows that kind of column.
    shown = {
        "data docs (failed values)": html.escape(payload),  # failed categories and destinations
        "Evidently report": script_json(payload)[1:-1],  # category, free text, column name
        "model card": html.escape(" ".join(payload.split())),  # description, features, slices
        "pipeline": html.escape(payload),  # the description
        "drift": html.escape(payload),  # signal names (column names) and notes
        "version": html.escape(" ".join(payload.split())),  # the card's Markdown
    }.get(kind)
    if shown is not None:
        assert shown in text, f"{kind}: {payload!r} is not shown"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_suite_parameters_in_the_data_docs_stay_text(
    world: hostile.Hostile, client: Any, payload: str
) -> None:
    """The payloads are allowed carriers of the suite: each shows, escaped, among the expected values."""
    text = client.get(data_pages(world)["data docs (failed values)"]).text
    section = text[text.index("carrier") :]
    assert html.escape(payload) in section and ("<" not in payload or payload not in text)


def test_the_drift_page_frames_its_report_in_a_sandbox(world: hostile.Hostile, client: Any) -> None:
    text = client.get(view_pages(world)["drift"]).text
    frames = re.findall(r"<iframe[^>]*>", text)
    assert len(frames) == 1 and 'sandbox="allow-scripts"' in frames[0], frames


def test_vendored_assets_are_public_and_hold_no_data(world: hostile.Hostile, client: Any) -> None:
    client.cookies.clear()
    docs = client.get(data_pages(world)["data docs (failed values)"])
    assert docs.status_code == 401  # the data pages themselves still need a session
    client.cookies.set(COOKIE, TOKEN)
    local = re.findall(
        r'(?:href|src)="(/mlops/static/vendor/[^"]+)"',
        client.get(data_pages(world)["data docs (failed values)"]).text,
    )
    assert len(local) >= 4, local
    client.cookies.clear()
    for url in [*local, "/mlops/static/vendor/fontawesome-free-6.6.0/webfonts/fa-solid-900.woff2"]:
        r = client.get(url.removeprefix("/mlops"))
        assert r.status_code == 200, url
        assert (
            r.headers["access-control-allow-origin"] == "*"
            and r.headers["x-content-type-options"] == "nosniff"
        )
    for path in ("..%2Fapp.py", "../app.py", "LICENSES.md", "../../core/foundation/settings.py"):
        assert client.get(f"/static/vendor/{path}").status_code == 404, path
