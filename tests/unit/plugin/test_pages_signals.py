"""The monitoring signals in the UI: the drift page, the batches' history, the overview and its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.core.presentation.status import _DRIFT_KEYS
from airflow_mlops.plugin import pages

pytestmark = pytest.mark.unit


def summary(**over: Any) -> dict[str, Any]:
    """A drift summary as core/monitor/drift.py writes it for a batch whose late labels fired two signals."""
    sig = {
        "covariate_drift": {"name": "covariate_drift", "enabled": False, "value": 0.33, "threshold": 0.3,
                            "fired": False, "rows": 0, "note": None},
        "prediction_drift": {"name": "prediction_drift", "enabled": True, "value": 0.05, "threshold": 0.1,
                             "fired": False, "rows": 600, "note": None},
        "prior_shift": {"name": "prior_shift", "enabled": True, "value": 0.665, "threshold": 0.2,
                        "fired": True, "rows": 300, "note": None},
        "performance": {"name": "performance", "enabled": True, "value": None, "threshold": 0.8994,
                        "fired": False, "rows": 12, "note": "12 labelled rows, fewer than monitor.labels.min_rows (100)"},
    }  # fmt: skip
    out = {
        "ds": "2024-03-14",
        "drift_share": 0.33,
        "threshold": 0.3,
        "drift_detected": True,
        "drifted_columns": ["balance"],
        "column_scores": {"balance": 0.4},
        "model_version": "1",
        "html_uri": "file:///lake/report.html",
        "signals": sig,
        "fired": ["prior_shift"],
        "retrain": True,
        "retrain_reason": "prior_shift on 2024-03-14: PSI 0.665 >= 0.2 <script>",
        "labels": {
            "arrive": "later",
            "rows": 300,
            "matched": 12,
            "unmatched": 288,
            "batches": ["2024-03-13"],
        },
    }
    out.update(over)
    return out


def _row(html: str, name: str) -> str:
    start = html.index(f"<td>{name}</td>")
    return html[start : html.index("</tr>", start)]


def test_the_drift_page_shows_each_signal_with_value_threshold_and_state() -> None:
    html = pages.drift_page("credit_late", "2024-03-14", summary(), "/mlops/pipelines/credit_late")
    assert '<h2 id="signals">Signals</h2>' in html
    prior = _row(html, "prior_shift")
    assert "0.6650" in prior and "0.2000" in prior and '<span class="bad">fired</span>' in prior
    perf = _row(html, "performance")
    assert "fewer than monitor.labels.min_rows (100)" in perf and "fired" not in perf
    assert '<span class="muted">watched</span>' in _row(html, "covariate_drift"), "disabled: watched only"
    assert "300 arrived (later), 12 joined to their predictions, 288 unmatched" in html
    assert "retrain asked for" in html and "&lt;script&gt;" in html and "<script>" not in html


def test_a_summary_from_before_signals_renders_as_before() -> None:
    old = {
        k: v
        for k, v in summary().items()
        if k not in ("signals", "fired", "retrain", "retrain_reason", "labels")
    }
    assert pages.signals_table(old) == ""
    html = pages.drift_page("credit_late", "2024-03-14", old, "/root")
    assert "Signals" not in html and "33% of columns drifted" in html
    assert pages.signals_table(summary(retrain=False)).count("retrain asked for") == 0


def test_the_history_and_the_overview_name_what_fired() -> None:
    batches = [
        {"ds": "2024-03-14", "snapshot": None, "validation": None, "quarantine": None, "drift": summary()},
        {"ds": "2024-03-13", "snapshot": None, "validation": None, "quarantine": None,
         "drift": summary(ds="2024-03-13", fired=[], retrain=False, drift_detected=False)},
    ]  # fmt: skip
    table = pages.batches_table(batches, "/root")
    first, second = table.split("<td>2024-03-13</td>")
    assert "fired: prior_shift" in first and "fired:" not in second
    latest = pages.latest_drift(batches, "/root")
    assert '<h2 id="signals">Signals</h2>' in latest
    status = {
        "pipeline": "credit_late",
        "champion": None,
        "versions": 1,
        "batches": 14,
        "last_validation": None,
        "last_decision": None,
        "drift": {k: summary().get(k) for k in _DRIFT_KEYS},
    }
    card = pages.overview([status], "/mlops", [])
    assert '<span class="bad">fired: prior_shift</span>' in card


class _EmptyRegistry:
    """A registry with no version yet (the MLflow client calls pipeline_status makes)."""

    def search_model_versions(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def get_model_version_by_alias(self, name: str, alias: str) -> Any:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

        raise MlflowException(f"alias {alias} not found", error_code=RESOURCE_DOES_NOT_EXIST)


def test_the_ui_json_carries_the_signals_of_the_latest_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What /api/pipelines answers (pipeline_status), from a drift summary in a real lake."""
    import json

    from airflow_mlops.core.foundation.catalog import Catalog
    from airflow_mlops.core.foundation.config import load_pipeline
    from airflow_mlops.core.foundation.lake import Lake
    from airflow_mlops.core.presentation.status import pipeline_status
    from tests.conftest import PIPELINES

    monkeypatch.setenv("AIRFLOW_MLOPS_HOME", str(tmp_path))
    cfg = load_pipeline(PIPELINES / "credit_default.yaml")
    lake = Lake((tmp_path / "lake").as_uri())
    cat = Catalog(lake, cfg.name)
    for ds in ("2024-03-13", "2024-03-14"):  # committed and validated: their drift is the pipeline's
        lake.write_json(
            cat.manifest_uri(ds),
            {"content_hash": f"h{ds}", "data": "d.parquet", "rows": 1, "ingested_at": ds},
        )
        lake.write_json(cat.validation_summary_uri(ds), {"success": True, "snapshot_hash": f"h{ds}"})
    lake.write_json(cat.drift_summary_uri("2024-03-13"), summary(ds="2024-03-13", fired=[], retrain=False))
    lake.write_json(cat.drift_summary_uri("2024-03-14"), summary())
    st = json.loads(json.dumps(pipeline_status(cfg, lake, _EmptyRegistry())))  # type: ignore[arg-type]
    assert st["drift_not_counted"] == []
    d = st["drift"]
    assert d["ds"] == "2024-03-14" and d["fired"] == ["prior_shift"] and d["retrain"] is True
    assert d["signals"]["prior_shift"]["value"] == 0.665 and d["labels"]["unmatched"] == 288
    assert d["retrain_reason"].startswith("prior_shift on 2024-03-14")
