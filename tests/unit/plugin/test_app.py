"""The view's app without data: who gets a login page, what the DAG tab redirects to, what is public.

Pages made from data are tested in test_sandbox.py (their headers) and tests/integration/test_view.py.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from airflow_mlops.plugin import access
from airflow_mlops.plugin import app as view

pytestmark = pytest.mark.unit


class Pipelines(access.State):
    def pipelines(self) -> tuple[list[Any], list[str]]:
        return [SimpleNamespace(name="flights_delay")], []


def client(monkeypatch: pytest.MonkeyPatch, *, signed_in: bool = True, may_read: bool = True) -> TestClient:
    async def user(request: Request) -> object:
        if not signed_in:
            raise HTTPException(401, "not authenticated")
        return object()

    monkeypatch.setattr(access, "STATE", Pipelines())
    monkeypatch.setattr(access, "allowed", lambda *a, **k: may_read)
    app = view.create_app()
    app.dependency_overrides[view.current_user] = user
    return TestClient(app, follow_redirects=False)


def test_a_browser_without_a_session_goes_to_the_login_and_a_script_gets_401(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = client(monkeypatch, signed_in=False)
    page = c.get("/", headers={"accept": "text/html"})
    assert page.status_code == 303 and "/api/v2/auth/login?next=" in page.headers["location"]
    assert c.get("/api/pipelines", headers={"accept": "text/html"}).status_code == 401
    assert c.get("/").status_code == 401


def test_the_dag_tab_leads_to_the_pipeline_page(monkeypatch: pytest.MonkeyPatch) -> None:
    got = client(monkeypatch).get("/dags/flights_delay__train")
    assert got.status_code == 303 and got.headers["location"].endswith("/pipelines/flights_delay")


def test_a_user_who_may_read_no_pipeline_sees_none(monkeypatch: pytest.MonkeyPatch) -> None:
    c = client(monkeypatch, may_read=False)
    assert c.get("/api/pipelines").json() == []
    assert c.get("/api/pipelines/flights_delay").status_code == 403
    assert c.get("/api/pipelines/nope").status_code == 404


def test_only_the_shipped_vendor_files_are_served(monkeypatch: pytest.MonkeyPatch) -> None:
    c = client(monkeypatch, signed_in=False)
    shipped = sorted(view.SHIPPED)[0]
    assert c.get(f"/static/vendor/{shipped}").status_code == 200
    assert c.get("/static/vendor/../app.py").status_code == 404
    assert c.get("/static/vendor/nope.js").status_code == 404
