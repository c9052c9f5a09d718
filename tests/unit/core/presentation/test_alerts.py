"""Alerts without Airflow: the ``alerts`` config section, and each event's message (what happened,
to which pipeline and batch, why, and the link to the MLOps view) in Slack JSON and in an e-mail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airflow_mlops.core.foundation.config import ALERT_KINDS, load_pipeline, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.presentation import alerts as A
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

FLIGHTS = ROOT / "include" / "pipelines" / "flights_delay.yaml"
BASE = "https://airflow.example.com"
LINK = f"{BASE}/mlops/pipelines/flights_delay"


def with_alerts(section: str) -> str:
    """The shipped flights pipeline with an ``alerts`` section written as a person would (bare ``on:``)."""
    return FLIGHTS.read_text() + "\nalerts:\n" + section


def problem(section: str) -> str:
    with pytest.raises(ConfigError) as e:
        parse_pipeline(with_alerts(section), "flights_delay.yaml")
    return str(e.value)


# --- config ---------------------------------------------------------------------------------------------
def test_no_section_means_no_alerts(home: Path) -> None:
    cfg = load_pipeline(FLIGHTS)
    assert not cfg.alerts.enabled and not cfg.alerts.wants("run_failed")


def test_a_full_section_parses_with_a_bare_yaml_on_key(home: Path) -> None:
    cfg = parse_pipeline(
        with_alerts(
            "  webhook_conn_id: mlops_slack\n"
            "  email_conn_id: mlops_smtp\n"
            "  email_to: [ml-team@example.com]\n"
            "  on: [drift, refused]\n"  # PyYAML reads a bare `on` as the boolean true
            f"  view_url: {BASE}/\n"
        ),
        "flights_delay.yaml",
    )
    a = cfg.alerts
    assert (a.webhook_conn_id, a.email_conn_id, a.email_to) == (
        "mlops_slack",
        "mlops_smtp",
        ["ml-team@example.com"],
    )
    assert a.on == ["drift", "refused"] and a.view_url == BASE
    assert a.wants("drift") and not a.wants("promoted")


def test_every_kind_is_on_by_default(home: Path) -> None:
    cfg = parse_pipeline(with_alerts("  webhook_conn_id: mlops_slack\n"), "flights_delay.yaml")
    assert cfg.alerts.on == list(ALERT_KINDS) and all(cfg.alerts.wants(k) for k in ALERT_KINDS)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "  email_to: [a@example.com]\n",
            "flights_delay.yaml: alerts.email_to: addresses are given but alerts.email_conn_id",
        ),
        (
            "  email_conn_id: mlops_smtp\n",
            "alerts.email_to: alerts.email_conn_id is 'mlops_smtp' but no address",
        ),
        (
            "  email_conn_id: s\n  email_to: [not-an-address]\n",
            "alerts.email_to: not e-mail addresses: ['not-an-address']",
        ),
        (
            "  webhook_conn_id: https://hooks.slack.com/services/T0/B0/XYZ\n",
            "alerts.webhook_conn_id: 'https://hooks",
        ),
        ("  webhook_conn_id: s\n  on: [drfit]\n", "alerts.on[0]: Input should be"),
        ("  webhook_conn_id: s\n  on: []\n", "alerts.on: empty"),
        ("  webhook_conn_id: s\n  on: [drift, drift]\n", "alerts.on: ['drift'] listed twice"),
        ("  webhook_conn_id: s\n  view_url: https://u:p@airflow.example.com\n", "alerts.view_url:"),
        ("  webhook_conn_id: s\n  view_url: airflow.example.com\n", "alerts.view_url:"),
        ("  webhook_url: https://hooks.slack.com/x\n", "alerts.webhook_url: unknown field"),
    ],
)
def test_errors_name_the_file_and_the_field(home: Path, section: str, expected: str) -> None:
    assert expected in problem(section)


def test_alerts_do_not_change_the_config_hash(home: Path) -> None:
    """Who is told of events changes no model: training must not see the same data as new."""
    plain = parse_pipeline(FLIGHTS.read_text(), "flights_delay.yaml")
    alerted = parse_pipeline(with_alerts("  webhook_conn_id: mlops_slack\n"), "flights_delay.yaml")
    assert alerted.alerts.enabled and plain.config_hash == alerted.config_hash
    other = yaml.safe_load(FLIGHTS.read_text())
    other["gate"]["minimum"] = 0.99
    assert parse_pipeline(yaml.safe_dump(other), "flights_delay.yaml").config_hash != plain.config_hash


# --- one message per event ----------------------------------------------------------------------------
FAILED = {
    "expectation": "expect_column_values_to_be_in_set",
    "column": "origin",
    "kwargs": {"value_set": ["EWR", "JFK", "LGA"]},
    "observed": {
        "unexpected_count": 5,
        "element_count": 900,
        "unexpected_percent": 0.56,
        "examples": ["XXX"],
    },
}


def validation(status: str) -> dict:
    return {
        "pipeline": "flights_delay",
        "ds": "2013-02-02",
        "status": status,
        "success": status == "validated",
        "evaluated": 12,
        "failed": [] if status == "validated" else [FAILED],
        "result_uri": "file:///lake/validation/result.json",
    }


@pytest.mark.parametrize(
    ("status", "kind"), [("quarantined", "quarantined"), ("failed", "validation_failed")]
)
def test_a_bad_batch_says_which_expectation_failed_where(status: str, kind: str) -> None:
    a = A.validation_alert(validation(status), BASE)
    assert a is not None and a.kind == kind and a.ds == "2013-02-02" and a.link == LINK
    assert "flights_delay" in a.title and "2013-02-02" in a.title and status.split("_")[0][:6] in a.title
    assert "1 of 12 expectations failed on batch 2013-02-02 of pipeline flights_delay" in a.text
    assert "expect_column_values_to_be_in_set on column 'origin'" in a.text and "5 of 900" in a.text
    assert ("quarantined" in a.text) == (kind == "quarantined")


def test_a_passing_batch_alerts_nobody() -> None:
    assert A.validation_alert(validation("validated"), BASE) is None


def test_a_refused_raw_file_says_why_and_where_it_is_kept() -> None:
    a = A.quarantine_alert(
        {
            "pipeline": "flights_delay",
            "ds": "2013-02-03",
            "reason": "column 'dep_delay': 'abc' is not a float",
            "where": "file:///lake/q",
        },
        BASE,
    )
    assert a is not None and a.kind == "quarantined" and a.severity == "warning" and a.link == LINK
    assert (
        "column 'dep_delay'" in a.text
        and "Quarantined in file:///lake/q" in a.text
        and "2013-02-03" in a.title
    )


DRIFT = {
    "pipeline": "flights_delay",
    "ds": "2013-07-08",
    "model_version": "3",
    "drift_share": 0.625,
    "drifted_columns": ["dep_delay", "distance", "hour", "month", "carrier"],
    "n_columns": 8,
    "threshold": 0.5,
    "drift_detected": True,
    "html_uri": "file:///lake/drift/2013-07-08/report.html",
}


def test_drift_names_the_batch_share_columns_and_champion() -> None:
    a = A.drift_alert(DRIFT, BASE)
    assert a is not None and a.kind == "drift" and a.ds == "2013-07-08" and a.version == "3"
    assert "62% of 8 columns (threshold 50%)" in a.text and "champion v3" in a.text
    assert "Drifted columns: dep_delay, distance, hour, month, carrier" in a.text
    assert "Report: file:///lake/drift/2013-07-08/report.html" in a.text
    assert A.drift_alert({**DRIFT, "drift_detected": False}, BASE) is None


DECISION = {
    "pipeline": "flights_delay",
    "model_name": "flights_delay",
    "candidate_version": "4",
    "champion_version": "3",
    "promoted": True,
    "reason": "roc_auc 0.7312 beats champion v3 0.7101 by 0.0211 (required 0.0)",
    "metric": "roc_auc",
    "candidate_score": 0.7312,
    "champion_score": 0.7101,
}


def test_a_promotion_and_a_refusal_give_the_gate_reason_and_scores() -> None:
    won = A.promotion_alert(DECISION, BASE)
    assert won.kind == "promoted" and won.severity == "info" and won.version == "4" and won.link == LINK
    assert "v4 promoted to champion" in won.title and "replacing v3" in won.text
    assert (
        f"Reason: {DECISION['reason']}" in won.text and "candidate 0.7312 vs champion v3 0.7101" in won.text
    )
    lost = A.promotion_alert(
        {**DECISION, "promoted": False, "reason": "roc_auc 0.6 misses the absolute minimum 0.65"}, BASE
    )
    assert (
        lost.kind == "refused"
        and "refused by the gate" in lost.title
        and "champion of pipeline flights_delay is unchanged" in lost.text
    )
    assert "misses the absolute minimum 0.65" in lost.text
    first = A.promotion_alert({**DECISION, "champion_version": None, "champion_score": None}, BASE)
    assert "(no champion yet)" in first.text and "replacing" not in first.text


def test_a_pending_approval_says_where_to_answer() -> None:
    assert A.promotion_alert({**DECISION, "promoted": False, "approval": "pending"}, BASE) is None
    a = A.approval_alert(DECISION, BASE)
    assert a.kind == "approval_pending" and a.version == "4" and "waits for approval" in a.title
    assert "Required Actions" in a.text and a.link == LINK


def test_a_rollback_says_from_what_to_what_who_and_why() -> None:
    done = {
        "pipeline": "flights_delay",
        "model_name": "flights_delay",
        "from_version": "5",
        "to_version": "3",
        "reason": "v5 scores nonsense",
        "by": "alice",
        "at": "2026-11-23T10:00:00+00:00",
    }
    a = A.BUILDERS["rollback"](done, BASE)
    assert a is not None and a.kind == "rolled_back" and a.version == "3" and a.link == LINK
    assert a.title == "flights_delay: rolled back from v5 to v3"
    assert "Rolled back by alice: v5 scores nonsense" in a.text and "replacing v5" in a.text


def test_a_failed_run_links_the_run_and_the_view() -> None:
    a = A.run_failed_alert(
        {
            "pipeline": "flights_delay",
            "dag_id": "flights_delay__ingest",
            "run_id": "scheduled__2013-02-02T00:00:00+00:00",
            "task_id": "ingest",
            "reason": "task_failure",
            "ds": "2013-02-02",
        },
        BASE,
    )
    assert a.kind == "run_failed" and a.severity == "error" and a.link == LINK
    assert (
        "failed at task ingest" in a.text
        and "Reason: task_failure" in a.text
        and "(batch 2013-02-02)" in a.text
    )
    assert (
        a.run_link == f"{BASE}/dags/flights_delay__ingest/runs/scheduled__2013-02-02T00%3A00%3A00%2B00%3A00"
    )


def test_without_a_base_url_links_use_airflows_default() -> None:
    assert A.promotion_alert(DECISION, None).link == "http://localhost:8080/mlops/pipelines/flights_delay"


# --- carried as Slack JSON and as e-mail -------------------------------------------------------------------
def test_slack_payload_has_text_blocks_and_the_link() -> None:
    a = A.drift_alert(DRIFT, BASE)
    assert a is not None
    p = json.loads(json.dumps(A.slack_payload(a)))  # JSON as it is sent
    assert (
        p["text"].startswith(":warning: flights_delay: drift detected on batch 2013-07-08")
        and LINK in p["text"]
    )
    assert p["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": a.title}}
    assert "62% of 8 columns" in p["blocks"][1]["text"]["text"]
    assert "*batch* 2013-07-08" in p["blocks"][2]["elements"][0]["text"]
    assert p["blocks"][-1]["text"]["text"] == f"<{LINK}|Open in the MLOps view>"
    assert p["alert"]["kind"] == "drift" and p["alert"]["pipeline"] == "flights_delay"


def test_email_has_subject_recipients_and_both_bodies_with_the_link() -> None:
    a = A.promotion_alert({**DECISION, "reason": "better <b>by</b> & more"}, BASE)
    msg = A.email_message(a, "mlops@example.com", ["a@example.com", "b@example.com"])
    assert msg["Subject"] == f"[airflow-mlops] {a.title}" and msg["To"] == "a@example.com, b@example.com"
    assert msg["From"] == "mlops@example.com" and msg["X-Airflow-Mlops-Alert"] == "promoted"
    plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"Open in the MLOps view: {LINK}" in plain and "better <b>by</b> & more" in plain
    assert (
        f'<a href="{LINK}">' in html
        and "better &lt;b&gt;by&lt;/b&gt; &amp; more" in html
        and "<b>" not in html
    )


def test_a_retrain_asked_for_by_late_labels_alerts_without_covariate_drift() -> None:
    """core/monitor/signals.py: prior shift fired while the inputs did not drift; the alert says why."""
    res = {
        **DRIFT,
        "drift_detected": False,
        "retrain": True,
        "fired": ["prior_shift"],
        "retrain_reason": "prior_shift on 2013-07-10: PSI 0.665 >= 0.2",
    }
    a = A.drift_alert(res, BASE)
    assert a is not None and a.title.endswith("retrain asked for on batch 2013-07-08")
    assert "signals: prior_shift on 2013-07-10: PSI 0.665 >= 0.2" in a.text
    assert "drifted from the training data" not in a.text
    quiet = A.drift_alert({**DRIFT, "retrain": False, "fired": []}, BASE)
    assert quiet is not None and "not a retrain trigger" in quiet.text
    assert A.drift_alert({**res, "retrain": False, "fired": []}, BASE) is None


def test_every_kind_has_one_severity_and_every_alert_is_built_one_way() -> None:
    """Severity follows the kind (one table), the body is the lines, the link the pipeline's page."""
    assert set(A.SEVERITY) == set(ALERT_KINDS)
    a = A.Alert.of("refused", "flights_delay", "t", ["one", "two"], BASE, version="3")
    assert (a.severity, a.text, a.link, a.version, a.ds, a.run_link) == (
        "warning",
        "one\ntwo",
        LINK,
        "3",
        None,
        None,
    )
