"""The MLOps view's pages, rendered on the server from ``core.status`` dicts with the building
blocks of ``markup.py`` (which says why plain HTML, and escapes every value once)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from airflow_mlops.plugin.markup import CONFIRM, e, line_chart, page, score, status, table

__all__ = ["CONFIRM", "page"]


def overview(rows: list[dict[str, Any]], base: str, problems: list[str]) -> str:
    """One card per pipeline: champion, last batch, last validation, last drift, last decision."""
    cards = []
    for p in rows:
        c, v, d, dec = p["champion"], p["last_validation"], p["drift"], p["last_decision"]
        champ = (
            f"<b>v{e(c['version'])}</b> {e(c['metric'])} = {score(c['score'])}"
            if c
            else '<span class="muted">no champion yet</span>'
        )
        drift = (
            f"{e(d['ds'])}: {float(d['drift_share']):.0%} of columns drifted {_drifted(d)}"
            if d
            else '<span class="muted">none yet</span>'
        )
        decision = (
            f"v{e(dec['candidate_version'])} {_promoted(dec)}: {e(dec['reason'])}"
            if dec
            else '<span class="muted">none yet</span>'
        )
        cards.append(
            f'<div class="card" data-pipeline="{e(p["pipeline"])}">'
            f'<h2><a href="{e(base)}/pipelines/{quote(p["pipeline"])}">{e(p["pipeline"])}</a></h2>'
            + table(
                ["", ""],
                [
                    ["champion", champ],
                    ["versions", e(p["versions"])],
                    ["batches", e(p["batches"])],
                    ["last validation", f"{e(v['ds'])} {status(v['status'])}" if v else status(None)],
                    ["last drift", drift + _not_counted(p.get("drift_not_counted"))],
                    ["last decision", decision],
                ],
            )
            + "</div>"
        )
    errors = "".join(f'<div class="flash bad">{e(x)}</div>' for x in problems)
    empty = "" if rows else '<p class="muted">No pipeline you may read.</p>'
    return f'<h1>Pipelines</h1>{errors}{empty}<div class="cards">{"".join(cards)}</div>'


def pipeline_page(
    d: dict[str, Any],
    base: str,
    links: dict[str, str],
    can_act: bool,
    approvals_href: str,
    pending: list[dict[str, Any]] | None = None,
) -> str:
    """The page of one pipeline: actions, charts, versions and decisions, batches."""
    st, name = d["status"], d["status"]["pipeline"]
    metric = d["gate"]["metric"]
    root = f"{base}/pipelines/{quote(name)}"
    versions = d["versions"]
    metric_names = sorted({m for v in versions for m in v["metrics"]})
    vrows, vclass = [], []
    for v in versions:
        dec = v["decision"]
        waiting = v["approval"].get("state") == "pending" or (dec or {}).get("approval") == "pending"
        if dec is None:
            verdict = ""
        elif waiting:
            verdict = (
                f'<span class="warn">passed the gate, waiting for approval</span> {e(dec["reason"])} '
                f'<a href="{e(approvals_href)}">approve or reject</a>'
            )
        else:
            verdict = f"{_promoted(dec)} {e(dec['reason'])}"
        rb = v["rollback"]
        if rb:
            verdict += "".join(
                f'<div class="warn">{e(role.replace("_", " "))} by {e(rb.get(f"{role}.by"))} at '
                f"{e(rb.get(f'{role}.at'))}: {e(rb.get(f'{role}.reason'))}</div>"
                for role in ("rolled_back", "restored")
                if rb.get(f"{role}.at")
            )
        if v["approval"] and not waiting:
            a = v["approval"]
            verdict += f"<div>approval: {e(a.get('state'))} by {e(a.get('by'))} {e(a.get('reason'))}</div>"
        lin = v["lineage"]
        vrows.append(
            [
                f'<a href="{root}/versions/{e(v["version"])}">v{e(v["version"])}</a>'
                + (" <b>champion</b>" if v["champion"] else ""),
                *[score(v["metrics"].get(m)) for m in metric_names],
                e(lin["reason"]),
                e(f"{lin['window'][0]}..{lin['window'][-1]}" if lin["window"] else ""),
                verdict,
            ]
        )
        vclass.append("champion" if v["champion"] else "")
    gate_points = [
        (f"v{v['version']}", float(v["metrics"][metric]))
        for v in reversed(versions)
        if metric in v["metrics"]
    ]
    drift_points = [
        (b["ds"][5:], float(b["drift"]["drift_share"])) for b in reversed(d["batches"]) if b["drift"]
    ]
    threshold = next((b["drift"]["threshold"] for b in d["batches"] if b["drift"]), None)
    champ = st["champion"]
    head = (
        f"<h1>{e(name)}</h1><p>{e(d['description'])}</p>"
        + (
            f"<p>Champion: <b>v{e(champ['version'])}</b>, {e(metric)} = {score(champ['score'])}</p>"
            if champ
            else '<p class="muted">No champion yet.</p>'
        )
        + " · ".join(f'<a href="{e(href)}">{e(label)}</a>' for label, href in links.items())
    )
    return (
        head
        + (actions(root, champ, approvals_href) if can_act else "")
        + approvals(root, pending or [], can_act)
        + '<div class="cards"><div>'
        + line_chart(gate_points, f"{metric} of each model version (held-out)")
        + "</div><div>"
        + line_chart(drift_points, "share of drifted columns per batch", threshold)
        + "</div></div>"
        + "<h2>Model versions and gate decisions</h2>"
        + table(
            ["version", *map(e, metric_names), "trained because", "window", "gate decision"], vrows, vclass
        )
        + "<h2>Batches</h2>"
        + batches_table(d["batches"], root)
        + latest_drift(d["batches"], root)
    )


def actions(root: str, champ: dict[str, Any] | None, approvals_href: str) -> str:
    """Retrain and roll back: forms that ask for confirmation; the server checks permissions again."""
    retrain = (
        f'<form class="inline" method="post" action="{root}/retrain" '
        f'data-confirm="Trigger a training run of this pipeline?" onsubmit="{CONFIRM}">'
        '<b>Retrain</b> reason <input name=reason required minlength=3 value="manual retrain from the MLOps view"> '
        "window (days) <input name=training_window_days type=number min=1 max=365 size=4> "
        "<label><input type=checkbox name=force value=true> force</label> "
        '<button type=submit id="retrain">Retrain</button></form>'
    )
    rollback = (
        f'<form class="inline" method="post" action="{root}/rollback" '
        f'data-confirm="Give the champion alias back to the previous champion?" onsubmit="{CONFIRM}">'
        "<b>Roll back</b> reason <input name=reason required minlength=3> "
        "to version <input name=to size=4 placeholder=previous> "
        '<button type=submit id="rollback">Roll back</button></form>'
        if champ
        else ""
    )
    return f'<div>{retrain}{rollback}<a href="{e(approvals_href)}">Pending approvals</a></div>'


def approvals(root: str, pending: list[dict[str, Any]], can_act: bool) -> str:
    """Promotions waiting for a person: the challenger against the champion, Approve / Reject."""
    if not pending:
        return ""
    out = ["<h2>Waiting for approval</h2>"]
    for p in pending:
        out.append(f'<div class="card approval" data-run="{e(p["run_id"])}"><b>{e(p["subject"])}</b>')
        out.append(f'<pre class="mono">{e(p["body"])}</pre>')
        if can_act:
            out.append(
                f'<form class="inline" method="post" action="{root}/approvals/{quote(p["run_id"], safe="")}" '
                f'data-confirm="Send this answer? Approve moves the champion alias." onsubmit="{CONFIRM}">'
                "comment <input name=comment size=40> "
                '<button type=submit name=choice value=Approve class="approve">Approve</button> '
                '<button type=submit name=choice value=Reject class="reject">Reject</button></form>'
            )
        out.append("</div>")
    return "".join(out)


def batches_table(batches: list[dict[str, Any]], root: str) -> str:
    rows = []
    for b in batches:
        s, v, dr, q = b["snapshot"], b["validation"], b["drift"], b["quarantine"]
        failed = "".join(
            f"<div>{e(f['expectation'])} {e(f.get('column') or '')}: observed "
            f'<span class="mono">{e(json.dumps(f.get("observed"), default=str)[:200])}</span></div>'
            for f in (v or {}).get("failed") or []
        )
        docs = (
            f' <a href="{root}/batches/{e(b["ds"])}/files/validation/docs/index.html">data docs</a>'
            if v and v.get("docs_uri")
            else ""
        )
        result = (
            f' <a href="{root}/batches/{e(b["ds"])}/files/validation/result.json">result</a>' if v else ""
        )
        validation = (status(v["status"]) + docs + result + failed) if v else status(None)
        if q:
            validation = f'<span class="warn">quarantined at ingest</span>: {e(q.get("reason"))}'
        drift = (
            f'{float(dr["drift_share"]):.0%} {_drifted(dr)} <a href="{root}/batches/{e(b["ds"])}/drift">report</a>'
            if dr
            else _not_counted([b["drift_not_counted"]], f"{root}/batches/{e(b['ds'])}/drift")
            if b.get("drift_not_counted")
            else '<span class="muted">-</span>'
        )
        rows.append(
            [
                e(b["ds"]),
                e(s["rows"]) if s else "",
                f'<span class="mono">{e((s or {}).get("content_hash", "")[:16])}</span>',
                validation,
                drift,
            ]
        )
    return table(["interval", "rows", "content hash", "validation", "drift"], rows)


def _drifted(d: dict[str, Any]) -> str:
    """A drift summary's verdict, and the signals that fired."""
    fired = f' <span class="bad">fired: {e(", ".join(d["fired"]))}</span>' if d.get("fired") else ""
    return ('<span class="bad">DRIFT</span>' if d["drift_detected"] else '<span class="ok">ok</span>') + fired


def _promoted(decision: dict[str, Any]) -> str:
    return '<span class="ok">promoted</span>' if decision["promoted"] else '<span class="bad">refused</span>'


def _not_counted(records: list[dict[str, Any]] | None, report: str | None = None) -> str:
    """Drift records that are not the pipeline's (their batch did not pass validation), said so."""
    link = f' <a href="{report}">report</a>' if report else ""
    return "".join(
        f'<div class="not-counted"><span class="warn">not counted</span> {e(r["ds"])}: batch '
        f"{e(r['why'])}{link}</div>"
        for r in records or []
    )


def latest_drift(batches: list[dict[str, Any]], root: str) -> str:
    """Per-column drift scores of the newest batch that has a drift report."""
    b = next((b for b in batches if b["drift"]), None)
    if b is None:
        return ""
    dr = b["drift"]
    scores = dr.get("column_scores") or {}
    drifted = set(dr.get("drifted_columns") or [])
    rows = [
        [
            e(c),
            score(s),
            '<span class="bad">drifted</span>' if c in drifted else '<span class="ok">ok</span>',
        ]
        for c, s in sorted(scores.items(), key=lambda kv: -float(kv[1] or 0))
    ]
    return (
        f'<h2>Drift of the latest batch, {e(b["ds"])} <a href="{root}/batches/{e(b["ds"])}/drift">(report)</a></h2>'
        + table(["column", "drift score", ""], rows)
        + signals_table(dr)
    )


def signals_table(summary: dict[str, Any] | None) -> str:
    """The monitoring signals of one batch (core/monitor/signals.py): value, threshold, whether it fired,
    the labels that arrived, and the retrain they asked for. Empty for a summary without them."""
    sigs = (summary or {}).get("signals")
    if not sigs:
        return ""
    rows = []
    for name, sig in sigs.items():
        state = (
            '<span class="bad">fired</span>'
            if sig.get("fired")
            else (
                '<span class="ok">ok</span>' if sig.get("enabled") else '<span class="muted">watched</span>'
            )
        )
        rows.append(
            [
                e(name),
                score(sig.get("value")),
                score(sig.get("threshold")),
                e(sig.get("rows", 0)),
                state + (f' <span class="muted">{e(sig["note"])}</span>' if sig.get("note") else ""),
            ]
        )
    out = '<h2 id="signals">Signals</h2>' + table(["signal", "value", "threshold", "rows", ""], rows)
    lab = summary.get("labels") if summary else None
    if lab:
        out += (
            f'<p class="labels">Labels: {e(lab["rows"])} arrived ({e(lab["arrive"])}), {e(lab["matched"])} '
            f"joined to their predictions, {e(lab['unmatched'])} unmatched.</p>"
        )
    if summary and summary.get("retrain"):
        out += f'<p class="retrain"><span class="bad">retrain asked for</span>: {e(summary.get("retrain_reason"))}</p>'
    return out


def drift_page(name: str, ds: str, summary: dict[str, Any] | None, root: str) -> str:
    """The Evidently report of one batch, in the page."""
    if summary is None:
        return f'<p class="muted">No drift report for {e(ds)}.</p>'
    src = f"{root}/batches/{quote(ds)}/files/drift/report.html"
    return (
        f"<h1>{e(name)}: drift of {e(ds)}</h1>"
        + _not_counted([{"ds": ds, "why": summary["not_counted"]}] if summary.get("not_counted") else [])
        + f"<p>{float(summary['drift_share']):.0%} of columns drifted "
        f"(threshold {float(summary['threshold']):.0%}), scored by v{e(summary.get('model_version'))}. "
        f'<a href="{src}">open alone</a></p>'
        + signals_table(summary)
        + f'<iframe class="report" title="Evidently report" sandbox="allow-scripts" src="{src}"></iframe>'
    )


def version_page(name: str, v: dict[str, Any], links: dict[str, str], card: str | None) -> str:
    """One model version: metrics, decision, lineage with links into Airflow and MLflow, its card."""
    lin = v["lineage"]
    rows = [
        ["champion", "yes" if v["champion"] else "no"],
        ["metrics (held-out)", ", ".join(f"{e(k)} = {score(x)}" for k, x in sorted(v["metrics"].items()))],
        ["gate decision", e((v["decision"] or {}).get("reason", "none yet"))],
        ["previous champion", e(v["previous_champion"])],
        ["trained because", e(lin["reason"])],
        ["window", e(", ".join(lin["window"]))],
        ["snapshots (interval:hash)", f'<span class="mono">{e(" ".join(lin["snapshots"]))}</span>'],
        ["rows (train / test)", f"{e(lin['train_rows'])} / {e(lin['test_rows'])}"],
        ["validation", e(lin["validation"])],
        ["config hash", f'<span class="mono">{e(lin["config_hash"])}</span>'],
        ["code version", f'<span class="mono">{e(lin["code_version"])}</span>'],
        ["libraries", e(", ".join(f"{k} {x}" for k, x in sorted(lin["libraries"].items())))],
        ["made by", f"{e(lin['dag_id'])} / {e(lin['run_id'])}"],
    ]
    nav = " · ".join(f'<a href="{e(href)}">{e(label)}</a>' for label, href in links.items())
    body = f"<h1>{e(name)} v{e(v['version'])}</h1><p>{nav}</p>" + table(["", ""], rows)
    if card:
        body += f'<h2>Model card</h2><pre class="card">{e(card)}</pre>'
    else:
        body += '<p class="muted">No model card yet.</p>'
    return body
