"""The API guard that refuses unknown Params, as ASGI: a stand-in downstream app records what it got."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from airflow_mlops.plugin.conf_guard import StrictConfMiddleware

pytestmark = pytest.mark.unit


def call(path: str, body: dict, method: str = "POST", chunks: int = 1) -> tuple[int, dict, bytes | None]:
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

    scope = {"type": "http", "method": method, "path": path}
    asyncio.run(StrictConfMiddleware(downstream)(scope, receive, send))
    status = sent[0]["status"]
    payload = json.loads(sent[1]["body"])
    return status, payload, seen.get("body")


def test_unknown_key_is_refused_with_the_allowed_ones(home: Path) -> None:
    status, payload, passed = call(
        "/api/v2/dags/flights_delay__train/dagRuns", {"conf": {"bogus": 1, "force": True}}
    )
    assert status == 400 and passed is None
    assert "unknown param(s) ['bogus']" in payload["detail"]
    assert "'training_window_days'" in payload["detail"]


def test_known_keys_pass_with_the_body_intact(home: Path) -> None:
    body = {"logical_date": None, "conf": {"reason": "x", "training_window_days": 3}}
    status, _, passed = call("/api/v2/dags/flights_delay__train/dagRuns", body, chunks=2)
    assert status == 200 and json.loads(passed) == body


def test_other_dags_and_requests_are_untouched(home: Path) -> None:
    assert call("/api/v2/dags/someone_elses_dag/dagRuns", {"conf": {"anything": 1}})[0] == 200
    assert call("/api/v2/dags/flights_delay__train/dagRuns/abc", {"conf": {"bogus": 1}})[0] == 200
    assert call("/api/v2/dags/flights_delay__ingest/dagRuns", {"conf": {"x": 1}})[0] == 400
