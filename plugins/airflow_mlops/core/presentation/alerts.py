"""Alerts: what a person is told when a pipeline needs them, built from the stages' results. Pure (no
network, no Airflow): the notifier (``airflow_mlops.notifiers.alerts``) only delivers them."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any, Literal
from urllib.parse import quote

from airflow_mlops.core.foundation.config import AlertKind

Severity = Literal["info", "warning", "error"]

#: Where the plugin serves the MLOps view, under the Airflow UI's base URL.
VIEW_PREFIX = "/mlops"
#: Airflow's own default of ``[api] base_url`` when it is unset (task_runner uses the same).
DEFAULT_BASE_URL = "http://localhost:8080"
_MAX_ITEMS = 8
#: How much each kind of alert asks of a person: decided once here, not by each builder.
SEVERITY: dict[AlertKind, Severity] = {
    "validation_failed": "error",
    "quarantined": "warning",
    "drift": "warning",
    "promoted": "info",
    "refused": "warning",
    "approval_pending": "info",
    "rolled_back": "warning",
    "run_failed": "error",
}


@dataclass(frozen=True)
class Alert:
    """One alert, whatever carries it: ``text`` is the plain body, ``link`` the MLOps view page."""

    kind: AlertKind
    pipeline: str
    title: str
    text: str
    severity: Severity
    ds: str | None = None
    version: str | None = None
    link: str | None = None
    run_link: str | None = None

    @classmethod
    def of(
        cls,
        kind: AlertKind,
        pipeline: str,
        title: str,
        lines: list[str],
        base: str | None,
        *,
        ds: str | None = None,
        version: str | None = None,
        run: str | None = None,
    ) -> Alert:
        """The one way a builder makes an alert: severity from :data:`SEVERITY`, link to the view."""
        return cls(
            kind=kind,
            pipeline=pipeline,
            title=title,
            text="\n".join(lines),
            severity=SEVERITY[kind],
            ds=ds,
            version=version,
            link=view_link(base, pipeline),
            run_link=run,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def view_link(base: str | None, pipeline: str) -> str:
    """The pipeline's page in the MLOps view."""
    return f"{(base or DEFAULT_BASE_URL).rstrip('/')}{VIEW_PREFIX}/pipelines/{quote(pipeline, safe='')}"


def run_link(base: str | None, dag_id: str, run_id: str) -> str:
    """The DAG run's page in the Airflow UI."""
    root = (base or DEFAULT_BASE_URL).rstrip("/")
    return f"{root}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def _items(values: list[str]) -> str:
    shown = ", ".join(values[:_MAX_ITEMS])
    return shown + (f" and {len(values) - _MAX_ITEMS} more" if len(values) > _MAX_ITEMS else "")


# --- one builder per event: (result as a dict, base URL) -> Alert, or None when nothing is due ------------
def validation_alert(summary: Mapping[str, Any], base: str | None) -> Alert | None:
    """A batch that failed validation (the task fails) or was quarantined (the pipeline goes on)."""
    status = summary.get("status")
    if status not in ("failed", "quarantined"):
        return None
    from airflow_mlops.core.data.validate import describe_failure  # the task log's wording, one place

    pipeline, ds = str(summary["pipeline"]), str(summary["ds"])
    failed = list(summary.get("failed") or [])
    evaluated = summary.get("evaluated")
    lines = [f"{len(failed)} of {evaluated} expectations failed on batch {ds} of pipeline {pipeline}:"]
    lines += [f"- {describe_failure(f)}" for f in failed[:_MAX_ITEMS]]
    if len(failed) > _MAX_ITEMS:
        lines.append(f"- and {len(failed) - _MAX_ITEMS} more")
    if status == "quarantined":
        lines.append("The batch is quarantined: it is not used for training or scoring.")
        kind: AlertKind = "quarantined"
        title = f"{pipeline}: batch {ds} quarantined by validation"
    else:
        lines.append("The validate task failed; the batch goes no further.")
        kind = "validation_failed"
        title = f"{pipeline}: batch {ds} failed validation"
    if summary.get("result_uri"):
        lines.append(f"Result: {summary['result_uri']}")
    return Alert.of(kind, pipeline, title, lines, base, ds=ds)


def quarantine_alert(event: Mapping[str, Any], base: str | None) -> Alert | None:
    """A raw file refused at ingest and quarantined (``event``: pipeline, ds, reason, where)."""
    pipeline, ds = str(event["pipeline"]), str(event["ds"])
    lines = [
        f"The raw file of batch {ds} of pipeline {pipeline} was refused at ingest:",
        str(event["reason"]),
    ]
    if event.get("where"):
        lines.append(f"Quarantined in {event['where']}")
    return Alert.of(
        "quarantined", pipeline, f"{pipeline}: batch {ds} quarantined at ingest", lines, base, ds=ds
    )


def drift_alert(res: Mapping[str, Any], base: str | None) -> Alert | None:
    """Drift past the threshold, or another signal asking for a retrain; None when neither happened."""
    drifted = bool(res.get("drift_detected"))
    retrain = bool(res.get("retrain", drifted))
    if not drifted and not retrain:
        return None
    pipeline, ds = str(res["pipeline"]), str(res["ds"])
    cols = list(res.get("drifted_columns") or [])
    version = res.get("model_version")
    lines = []
    if drifted:
        lines.append(
            f"Batch {ds} of pipeline {pipeline} drifted from the training data of champion v{version}: "
            f"{100 * float(res['drift_share']):.0f}% of {res.get('n_columns')} columns "
            f"(threshold {100 * float(res['threshold']):.0f}%)."
        )
        if cols:
            lines.append(f"Drifted columns: {_items(cols)}")
    if res.get("fired") and list(res["fired"]) != ["covariate_drift"]:
        lines.append(f"Retrain asked for by champion v{version}'s signals: {res.get('retrain_reason')}")
    lines.append(
        "The train DAG is triggered by the drift Asset."
        if retrain
        else "Covariate drift is not a retrain trigger of this pipeline (monitor.triggers): no retrain."
    )
    if res.get("html_uri"):
        lines.append(f"Report: {res['html_uri']}")
    title = f"{pipeline}: {'drift detected' if drifted else 'retrain asked for'} on batch {ds}"
    return Alert.of(
        "drift", pipeline, title, lines, base, ds=ds, version=None if version is None else str(version)
    )


def _scores(d: Mapping[str, Any]) -> str:
    def fmt(x: Any) -> str:
        return "n/a" if x is None else f"{float(x):.4f}"

    champion = d.get("champion_version")
    vs = f" vs champion v{champion} {fmt(d.get('champion_score'))}" if champion else " (no champion yet)"
    return f"{d.get('metric')}: candidate {fmt(d.get('candidate_score'))}{vs}"


def promotion_alert(decision: Mapping[str, Any], base: str | None) -> Alert | None:
    """The gate's decision (a PromotionDecision's dict); None while it waits for a person."""
    if decision.get("approval") == "pending":
        return None
    pipeline, version = str(decision["pipeline"]), str(decision["candidate_version"])
    model = decision.get("model_name") or pipeline
    if decision.get("promoted"):
        kind: AlertKind = "promoted"
        title = f"{pipeline}: {model} v{version} promoted to champion"
        head = f"{model} v{version} is the new champion of pipeline {pipeline}"
        if decision.get("champion_version"):
            head += f" (replacing v{decision['champion_version']})"
    else:
        kind = "refused"
        title = f"{pipeline}: {model} v{version} refused by the gate"
        head = f"{model} v{version} was refused; the champion of pipeline {pipeline} is unchanged"
    lines = [f"{head}.", f"Reason: {decision.get('reason')}", _scores(decision)]
    return Alert.of(kind, pipeline, title, lines, base, version=version)


def approval_alert(decision: Mapping[str, Any], base: str | None) -> Alert:
    """A candidate passed the gate and waits for a person to approve or reject it."""
    pipeline, version = str(decision["pipeline"]), str(decision["candidate_version"])
    model = decision.get("model_name") or pipeline
    lines = [
        f"{model} v{version} passed the gate of pipeline {pipeline} and waits for approval.",
        f"Gate: {decision.get('reason')}",
        _scores(decision),
        "Approve or reject it in Airflow (Required Actions) or in the MLOps view.",
    ]
    title = f"{pipeline}: {model} v{version} waits for approval"
    return Alert.of("approval_pending", pipeline, title, lines, base, version=version)


def rollback_alert(done: Mapping[str, Any], base: str | None) -> Alert:
    """The champion changed without a gate (a Rollback's dict): the team hears who did it and why."""
    pipeline, model = str(done["pipeline"]), str(done.get("model_name") or done["pipeline"])
    frm, to = str(done["from_version"]), str(done["to_version"])
    lines = [
        f"{model} v{to} is the champion of pipeline {pipeline} again, replacing v{frm}.",
        f"Rolled back by {done.get('by')}: {done.get('reason')}",
    ]
    title = f"{pipeline}: rolled back from v{frm} to v{to}"
    return Alert.of("rolled_back", pipeline, title, lines, base, version=to)


def run_failed_alert(event: Mapping[str, Any], base: str | None) -> Alert:
    """A DAG run failed. ``event``: pipeline, dag_id, run_id, and when known ds, task_id, reason."""
    pipeline, dag_id, run_id = str(event["pipeline"]), str(event["dag_id"]), str(event["run_id"])
    ds = event.get("ds")
    where = f" at task {event['task_id']}" if event.get("task_id") else ""
    batch = f" (batch {ds})" if ds else ""
    lines = [f"DAG run {run_id} of {dag_id}{batch} failed{where}."]
    if event.get("reason"):
        lines.append(f"Reason: {event['reason']}")
    title = f"{pipeline}: {dag_id} run failed" + (f" for {ds}" if ds else "")
    return Alert.of(
        "run_failed",
        pipeline,
        title,
        lines,
        base,
        ds=None if ds is None else str(ds),
        run=run_link(base, dag_id, run_id),
    )


#: What an operator names when it reports an event (``PipelineOperator.alert``).
BUILDERS: dict[str, Callable[[Mapping[str, Any], str | None], Alert | None]] = {
    "validation": validation_alert,
    "quarantine": quarantine_alert,
    "drift": drift_alert,
    "promotion": promotion_alert,
    "approval": approval_alert,
    "rollback": rollback_alert,
    "run_failed": run_failed_alert,
}


# --- what carries it -------------------------------------------------------------------------------------
_ICON = {"info": ":white_check_mark:", "warning": ":warning:", "error": ":x:"}


def _links(alert: Alert) -> list[tuple[str, str]]:
    out = []
    if alert.link:
        out.append(("Open in the MLOps view", alert.link))
    if alert.run_link:
        out.append(("Open the DAG run", alert.run_link))
    return out


def plain_text(alert: Alert) -> str:
    """The body of the e-mail and the fallback text of a chat message."""
    lines = [alert.title, "", alert.text]
    lines += [f"{label}: {url}" for label, url in _links(alert)]
    return "\n".join(lines) + "\n"


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Slack-compatible JSON; the alert's fields ride along under ``alert`` for other receivers."""
    links = " | ".join(f"<{url}|{label}>" for label, url in _links(alert))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": alert.text[:3000]}},
    ]
    facts = [f"*pipeline* {alert.pipeline}", f"*event* {alert.kind}"]
    if alert.ds:
        facts.append(f"*batch* {alert.ds}")
    if alert.version:
        facts.append(f"*version* {alert.version}")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "  ".join(facts)}]})
    if links:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": links}})
    text = f"{_ICON[alert.severity]} {alert.title}\n{alert.text}"
    if alert.link:
        text += f"\n{alert.link}"
    return {"text": text, "blocks": blocks, "alert": alert.to_dict()}


def email_message(alert: Alert, sender: str, to: list[str]) -> EmailMessage:
    """A multipart e-mail: plain text, and the same in simple HTML with the links clickable."""
    msg = EmailMessage()
    msg["Subject"] = f"[airflow-mlops] {alert.title}"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["X-Airflow-Mlops-Alert"] = alert.kind
    msg.set_content(plain_text(alert))
    paras = "".join(f"<p>{html.escape(line)}</p>" for line in alert.text.splitlines() if line.strip())
    links = "".join(
        f'<p><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></p>'
        for label, url in _links(alert)
    )
    msg.add_alternative(
        f"<html><body><h2>{html.escape(alert.title)}</h2>{paras}{links}</body></html>\n", subtype="html"
    )
    return msg
