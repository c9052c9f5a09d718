"""The API guard that refuses unknown Params, as ASGI: a stand-in downstream app records what it got.

Callers are told about Params only when Airflow's own auth manager (here the SimpleAuthManager of
the test session, with its metadata database) lets them trigger the DAG; anyone else's request
goes on to Airflow, which refuses it (the production topology test sees its 401).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from airflow_mlops.plugin.conf_guard import StrictConfMiddleware

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tokens(airflow_db) -> dict[str, str]:
    """JWTs of an admin and of a viewer (who may not trigger runs), from the real auth manager."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = create_auth_manager()
    return {
        role: manager.generate_jwt(SimpleAuthManagerUser(username=role, role=role))
        for role in ("admin", "viewer")
    }


def call(
    path: str, body: dict, method: str = "POST", chunks: int = 1, headers: dict[str, str] | None = None
) -> tuple[int, dict, bytes | None]:
    raw = json.dumps(body).encode()
    half = len(raw) // 2
    parts = [raw] if chunks == 1 else [raw[:half], raw[half:]]
    seen: dict = {}
    sent: list = []

    async def downstream(scope, receive, send) -> None:
        data = b""
        more = True
        while more:
            m = await receive()
            data += m.get("body", b"")
            more = m.get("more_body", False)
        seen["body"] = data
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive():
        p = parts.pop(0)
        return {"type": "http.request", "body": p, "more_body": bool(parts)}

    async def send(m) -> None:
        sent.append(m)

    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": method, "path": path, "headers": raw_headers}
    asyncio.run(StrictConfMiddleware(downstream)(scope, receive, send))
    status = sent[0]["status"]
    payload = json.loads(sent[1]["body"])
    return status, payload, seen.get("body")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_unknown_key_is_refused_with_the_allowed_ones(home: Path, tokens) -> None:
    for headers in (bearer(tokens["admin"]), {"Cookie": f"other=1; _token={tokens['admin']}"}):
        status, payload, passed = call(
            "/api/v2/dags/flights_delay__train/dagRuns",
            {"conf": {"bogus": 1, "force": True}},
            headers=headers,
        )
        assert status == 400 and passed is None
        assert "unknown param(s) ['bogus']" in payload["detail"]
        assert "'training_window_days'" in payload["detail"]


@pytest.mark.parametrize("who", ["anonymous", "viewer", "forged"])
def test_callers_who_may_not_trigger_learn_nothing(home: Path, tokens, who: str) -> None:
    headers = {
        "anonymous": {},
        "viewer": bearer(tokens["viewer"]),
        "forged": bearer(tokens["admin"][:-4] + "AAAA"),
    }[who]
    body = {"conf": {"bogus": 1}}
    status, payload, passed = call("/api/v2/dags/flights_delay__train/dagRuns", body, headers=headers)
    assert (status, payload) == (200, {}), "passed on for Airflow to refuse"
    assert json.loads(passed) == body


def test_known_keys_pass_with_the_body_intact(home: Path, tokens) -> None:
    body = {"logical_date": None, "conf": {"reason": "x", "training_window_days": 3}}
    status, _, passed = call(
        "/api/v2/dags/flights_delay__train/dagRuns", body, chunks=2, headers=bearer(tokens["admin"])
    )
    assert status == 200 and json.loads(passed) == body


def test_other_dags_and_requests_are_untouched(home: Path, tokens) -> None:
    admin = bearer(tokens["admin"])
    assert call("/api/v2/dags/someone_elses_dag/dagRuns", {"conf": {"anything": 1}}, headers=admin)[0] == 200
    assert (
        call("/api/v2/dags/flights_delay__train/dagRuns/abc", {"conf": {"bogus": 1}}, headers=admin)[0] == 200
    )
    assert call("/api/v2/dags/flights_delay__ingest/dagRuns", {"conf": {"x": 1}}, headers=admin)[0] == 400


def test_the_pipelines_are_read_again_only_when_a_file_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trigger request stats the YAML files; it parses them only when one was added or changed."""
    import os

    from airflow_mlops.core.foundation import config
    from airflow_mlops.plugin import conf_guard

    src = Path(__file__).resolve().parents[3] / "include" / "pipelines" / "flights_delay.yaml"
    (tmp_path / "flights_delay.yaml").write_text(src.read_text())
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(tmp_path))
    reads: list[object] = []
    real = config.load_pipelines
    monkeypatch.setattr(config, "load_pipelines", lambda folder: reads.append(folder) or real(folder))

    first = conf_guard.allowed_params("flights_delay__train")
    assert first and conf_guard.allowed_params("flights_delay__train") == first
    assert conf_guard.allowed_params("flights_delay__monitor")
    assert len(reads) == 1  # three requests, one read
    path = tmp_path / "flights_delay.yaml"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert conf_guard.allowed_params("flights_delay__train") == first
    assert len(reads) == 2  # changed: read again
    path.unlink()
    assert conf_guard.allowed_params("flights_delay__train") is None  # gone: no longer ours
    assert conf_guard.allowed_params("someone_elses_dag") is None
