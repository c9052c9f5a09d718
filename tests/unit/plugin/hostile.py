"""A lake and registry whose data attacks whoever looks at it, and the MLOps view serving them.

Values that carry HTML, script, ``</script>``, comments and JavaScript URLs sit in every kind of
column that reaches a page: a categorical column (GX data docs of a failed batch, the Evidently
report, the model card's slices), a free-text column and column names (the Evidently report, the
card's features and importances, the drift page's signals), and the pipeline's description (the
card, the pipeline page). Everything is real (ingest, GX validation, an Evidently report, a card
in a SQLite MLflow registry); only Airflow's auth manager is stood in for by a check of the same
``_token`` cookie (or bearer token), so the app runs without an api-server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import HTTPException, Request

from airflow_mlops.core.foundation.config import PipelineConfig

#: Each one would run (or open a dialog) if it reached a page as markup or broke out of a script.
PAYLOADS = [
    "<img src=x onerror=alert(101)>",
    "</script><script>alert(102)</script>",
    "<!--<script>alert(103)</script>-->",
    "javascript:alert(104)",
    '"><svg onload=alert(105)>',
    "</SCRIPT\t><iframe srcdoc='<script>alert(106)</script>'>",
]
DS = "2013-01-05"
TOKEN = "secret-token-of-the-admin-0123456789"
COOKIE = "_token"
VERSION = "1"
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Hostile:
    home: Path
    cfg: PipelineConfig
    lake: Any
    client: Any


def _raw_with_payloads(raw: Path) -> None:
    """The day's real flights, with each payload as a carrier (categorical) and a destination."""
    lines = raw.read_text().splitlines(True)
    header = lines[0].rstrip("\n").split(",")
    for i, value in enumerate(PAYLOADS):
        quoted = '"' + value.replace('"', '""') + '"'
        for row, column in ((i + 1, "carrier"), (i + 20, "dest")):
            cells = lines[row].rstrip("\n").split(",")
            cells[header.index(column)] = quoted
            lines[row] = ",".join(cells) + "\n"
    raw.write_text("".join(lines))


def _evidently_report(lake: Any, cfg: PipelineConfig) -> None:
    """A real Evidently report whose columns are named by payloads and hold them: a categorical
    column and a free-text one. Written as the drift task writes it, with a summary beside it."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    from airflow_mlops.core.foundation.catalog import Catalog
    from airflow_mlops.core.monitor.report_html import evidently_html

    def frame(shift: int) -> pd.DataFrame:
        n = 120
        return pd.DataFrame(
            {
                PAYLOADS[0]: [PAYLOADS[(i + shift) % len(PAYLOADS)] for i in range(n)],
                PAYLOADS[1]: [f"free text {i}: {PAYLOADS[i % len(PAYLOADS)]}" for i in range(n)],
                "distance": [float(i % 17 + shift) for i in range(n)],
            }
        )

    snapshot = Report([DataDriftPreset()]).run(frame(1), frame(0))
    cat = Catalog(lake, cfg.name)
    lake.write_text(cat.drift_html_uri(DS), evidently_html(snapshot))
    summary = {
        "ds": DS,
        "drift_detected": True,
        "drift_share": 0.5,
        "threshold": 0.15,
        "model_version": PAYLOADS[4],
        "signals": {p: {"fired": True, "value": 1.0, "threshold": 0.5, "note": p} for p in PAYLOADS},
        "retrain": True,
        "retrain_reason": PAYLOADS[1],
    }
    lake.write_text(cat.drift_summary_uri(DS), json.dumps(summary))
    lake.write_text(cat.drift_json_uri(DS), json.dumps({"columns": PAYLOADS}))


def _model_card(cfg: PipelineConfig, client: Any) -> None:
    """A version whose card names payloads: features, importances, slices, reason, source."""
    from airflow_mlops.core.foundation.registry import Tag
    from airflow_mlops.core.model import model_card
    from airflow_mlops.core.model.card_html import card_html
    from airflow_mlops.core.model.card_markdown import card_markdown
    from airflow_mlops.core.model.holdout import SliceScore, record

    tags = {
        Tag.REASON: PAYLOADS[3],
        Tag.SOURCE: PAYLOADS[1],
        Tag.WINDOW: json.dumps([DS]),
        Tag.IMPORTANCES: json.dumps({p: 0.1 for p in PAYLOADS}),
        f"{Tag.PROMOTION_PREFIX}slices": record(
            cfg, [SliceScore("carrier", p, 100, 0.8, 0.7) for p in PAYLOADS]
        ),
    }
    md = card_markdown(cfg, tags, [], "candidate", version=VERSION)
    exp = client.create_experiment("hostile")
    run = client.create_run(exp)
    client.log_text(run.info.run_id, md, model_card.MARKDOWN_FILE)
    client.log_text(run.info.run_id, card_html(md), model_card.HTML_FILE)
    client.set_terminated(run.info.run_id)
    client.create_registered_model(cfg.registered_model_name)
    mv = client.create_model_version(
        cfg.registered_model_name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    assert str(mv.version) == VERSION
    client.set_model_version_tag(cfg.registered_model_name, VERSION, Tag.CARD_STATE, "candidate")


def build(home: Path) -> Hostile:
    """The hostile state under ``home`` (AIRFLOW_MLOPS_HOME must point there already)."""
    from airflow_mlops.core.data.ingest import ingest
    from airflow_mlops.core.data.validate import validate_snapshot
    from airflow_mlops.core.foundation import tracking
    from airflow_mlops.core.foundation.config import load_pipeline
    from airflow_mlops.core.foundation.lake import Lake
    from airflow_mlops.core.foundation.settings import get_settings
    from dev.datasets import write_flights
    from tests.conftest import PIPELINES

    s = get_settings()
    base = load_pipeline(PIPELINES / "flights_delay.yaml")
    features = base.features.model_copy(update={"categorical": [*base.features.categorical, *PAYLOADS]})
    cfg = base.model_copy(update={"description": " ".join(PAYLOADS), "features": features})
    lake = Lake(s.lake_root)
    write_flights(s.raw_root, [DS])
    _raw_with_payloads(Path(s.raw_root.removeprefix("file://")) / "flights" / f"{DS}.csv")
    # The suite allows the payloads as carriers (values a scaffolded suite takes from a sample):
    # they reach the docs as expectation parameters; as destinations they fail and are listed.
    suite = json.loads((ROOT / "include" / "expectations" / "flights_delay.json").read_text())
    for exp in suite["expectations"]:
        if exp["kwargs"].get("column") == "carrier" and "value_set" in exp["kwargs"]:
            exp["kwargs"]["value_set"] += PAYLOADS
    suite_path = home / "flights_delay.json"
    suite_path.write_text(json.dumps(suite))
    ingest(base, lake, DS)
    result = validate_snapshot(base, lake, DS, suite_path)
    assert result.status == "quarantined" and result.docs_uri, result
    _evidently_report(lake, cfg)
    client = tracking.configure(tracking_uri=s.mlflow_tracking_uri)
    _model_card(cfg, client)
    return Hostile(home, cfg, lake, client)


def docs_page(h: Hostile) -> str:
    """The path, under a batch's files, of the data docs page that shows the failed values."""
    root = Path(h.lake.root.removeprefix("file://")) / h.cfg.name / "batches" / f"ds={DS}" / "validation"
    page = next((root / "docs" / "validations").rglob("*.html"))
    return page.relative_to(root.parent).as_posix()


def app(h: Hostile, monkeypatch: Any) -> Any:
    """The view's real app over ``h``, with a stand-in for Airflow's auth: the ``_token`` cookie
    or a bearer token must equal :data:`TOKEN`, as Airflow's JWT check would demand."""
    from airflow_mlops.plugin import app as view

    class Admin:
        def get_name(self) -> str:
            return "admin"

    async def user(request: Request) -> Admin:
        auth = request.headers.get("authorization", "")
        if request.cookies.get(COOKIE) != TOKEN and auth != f"Bearer {TOKEN}":
            raise HTTPException(401, "not authenticated")
        return Admin()

    class State(view.State):
        def pipelines(self) -> tuple[list[PipelineConfig], list[str]]:
            return [h.cfg], []

        def lake(self) -> Any:
            return h.lake

        def client(self) -> Any:
            return h.client

        def mlflow_ui(self) -> str | None:
            return None

    from airflow_mlops.plugin import access

    monkeypatch.setattr(access, "STATE", State())
    monkeypatch.setattr(access, "allowed", lambda *a, **k: True)
    monkeypatch.setattr(access, "pending_approvals", lambda *a, **k: [])
    built = view.create_app()
    built.dependency_overrides[view.current_user] = user
    return built
