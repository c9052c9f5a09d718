"""The view's access helpers that need no Airflow server: same-origin forms, where a browser is
sent, and what Airflow's API answers is turned into."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from airflow_mlops.plugin import access

pytestmark = pytest.mark.unit


def request(method: str = "POST", path: str = "/mlops/pipelines/p/retrain", **headers: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": method,
            "path": path,
            "root_path": "",
            "query_string": b"",
            "scheme": "http",
            "server": ("airflow.local", 8080),
            "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
        }
    )


def test_a_form_from_another_origin_or_none_is_refused() -> None:
    access.same_origin(request(host="airflow.local:8080", origin="http://airflow.local:8080"))
    access.same_origin(request(host="airflow.local:8080", referer="http://airflow.local:8080/mlops/"))
    for headers in ({"host": "airflow.local:8080", "origin": "https://evil.example"}, {"host": "a"}):
        with pytest.raises(HTTPException) as got:
            access.same_origin(request(**headers))
        assert got.value.status_code == 403


def test_only_a_browser_asking_for_a_page_is_sent_to_the_login() -> None:
    to_login = access.login_redirect(request("GET", "/mlops/pipelines/p", accept="text/html"))
    assert to_login is not None and to_login.status_code == 303
    assert "/api/v2/auth/login?next=" in to_login.headers["location"]
    assert access.login_redirect(request("GET", "/mlops/api/pipelines", accept="text/html")) is None
    assert access.login_redirect(request("POST", accept="text/html")) is None
    assert access.login_redirect(request("GET", accept="application/json")) is None


def test_back_carries_its_message_to_the_pipeline_page() -> None:
    got = access.back("flights delay", ok="queued")
    assert got.status_code == 303 and got.headers["location"] == "/mlops/pipelines/flights%20delay?ok=queued"


def test_trigger_and_pending_approvals_read_airflows_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    answers: dict[str, tuple[int, Any]] = {
        "POST": (200, {"dag_run_id": "manual__1"}),
        "GET": (
            200,
            {
                "hitl_details": [
                    {"task_instance": {"dag_run_id": "r1", "task_id": "approve"}, "subject": "Promote v4?"}
                ]
            },
        ),
    }
    monkeypatch.setattr(access, "api", lambda request, method, path, body=None: answers[method])
    assert access.trigger(request(), "p__train", {}) == (200, "manual__1")
    [pending] = access.pending_approvals(request(), "p")
    assert pending == {
        "run_id": "r1",
        "task_id": "approve",
        "map_index": -1,
        "subject": "Promote v4?",
        "body": "",
        "options": [],
    }
    answers.update(POST=(409, "already running"), GET=(403, "forbidden"))
    assert access.trigger(request(), "p__train", {}) == (409, "already running")
    assert access.pending_approvals(request(), "p") == []
