"""The MLOps view's pages, rendered on the server from ``core.status`` dicts.

Plain HTML with inline CSS and inline SVG charts: nothing is fetched from another origin, so the
view works offline and under a strict Content-Security-Policy. Every value is escaped here, once.
This module imports neither Airflow nor any heavy library: it turns dicts into strings.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}
header{background:#017cee;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:baseline}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:16px 20px;max-width:1300px}
h1{font-size:20px;margin:4px 0 12px}h2{font-size:16px;margin:22px 0 8px}
table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:8px}
th,td{border:1px solid #dde1e7;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
.ok{color:#127a3a;font-weight:600}.bad{color:#b3261e;font-weight:600}.warn{color:#a15c00;font-weight:600}
.muted{color:#6b7280}.mono{font-family:ui-monospace,Menlo,monospace;font-size:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px}
.champion{background:#e8f5ec}
form.inline{display:inline-block;margin:4px 12px 4px 0;padding:8px;background:#fff;border:1px solid #dde1e7;border-radius:6px}
input,button{font:inherit;padding:3px 6px}button{cursor:pointer}
.flash{padding:8px 12px;border-radius:6px;margin:8px 0}.flash.ok{background:#e8f5ec}.flash.bad{background:#fdecea}
iframe.report{width:100%;height:900px;border:1px solid #dde1e7;background:#fff}
svg{background:#fff;border:1px solid #dde1e7;max-width:640px}figure{margin:0}
"""


#: The only script of the view's pages: ``sandbox.PAGE_CSP`` allows it by its hash, nothing else.
CONFIRM = "return confirm(this.dataset.confirm)"


def e(value: Any) -> str:
    """Escaped text of any value (None shows as an empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def page(title: str, body: str, base: str, flash: tuple[str, str] | None = None) -> str:
    """A whole page: header with the way back to the overview, an optional message, the body."""
    note = f'<div class="flash {e(flash[0])}">{e(flash[1])}</div>' if flash else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{e(title)} · MLOps</title><style>{CSS}</style></head><body>"
        f'<header><a href="{e(base)}/">MLOps</a><span>{e(title)}</span></header>'
        f"<main>{note}{body}</main></body></html>"
    )


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], row_class: list[str] | None = None) -> str:
    """A table of already-escaped cells."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _score(x: Any) -> str:
    return "" if x is None else f"{float(x):.4f}"


def _status(s: str | None) -> str:
    cls = {"validated": "ok", "failed": "bad", "quarantined": "warn"}.get(s or "", "muted")
    return f'<span class="{cls}">{e(s or "not validated")}</span>'


# --- the overview ----------------------------------------------------------------------------------
def overview(rows: list[dict[str, Any]], base: str, problems: list[str]) -> str:
    """One card per pipeline: champion, last batch, last validation, last drift, last decision."""
    cards = []
    for p in rows:
        c, v, d, dec = p["champion"], p["last_validation"], p["drift"], p["last_decision"]
        champ = (
            f"<b>v{e(c['version'])}</b> {e(c['metric'])} = {_score(c['score'])}"
            if c
            else '<span class="muted">no champion yet</span>'
        )
        drift = (
            f"{e(d['ds'])}: {float(d['drift_share']):.0%} of columns drifted "
            + ('<span class="bad">DRIFT</span>' if d["drift_detected"] else '<span class="ok">ok</span>')
            + (f' <span class="bad">fired: {e(", ".join(d["fired"]))}</span>' if d.get("fired") else "")
            if d
            else '<span class="muted">none yet</span>'
        )
        decision = (
            f"v{e(dec['candidate_version'])} "
            + ('<span class="ok">promoted</span>' if dec["promoted"] else '<span class="bad">refused</span>')
            + f": {e(dec['reason'])}"
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
                    ["last validation", f"{e(v['ds'])} {_status(v['status'])}" if v else _status(None)],
                    ["last drift", drift + _not_counted(p.get("drift_not_counted"))],
                    ["last decision", decision],
                ],
            )
            + "</div>"
        )
    errors = "".join(f'<div class="flash bad">{e(x)}</div>' for x in problems)
    empty = "" if rows else '<p class="muted">No pipeline you may read.</p>'
    return f'<h1>Pipelines</h1>{errors}{empty}<div class="cards">{"".join(cards)}</div>'


# --- charts --------------------------------------------------------------------------------------
def line_chart(points: list[tuple[str, float]], title: str, threshold: float | None = None) -> str:
    """An inline SVG line chart of labelled points (x in order), with an optional threshold line."""
    w, h, pad = 640, 220, 40
    if not points:
        return f'<p class="muted">{e(title)}: nothing to chart yet.</p>'
    ys = [y for _, y in points] + ([threshold] if threshold is not None else [])
    lo, hi = min(ys), max(ys)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5

    def x(i: int) -> float:
        return pad + (w - 2 * pad) * (i / max(1, len(points) - 1))

    def y(v: float) -> float:
        return h - pad + (v - lo) / (hi - lo) * -(h - 2 * pad)

    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="#017cee"><title>{e(label)}: {v:.4f}</title></circle>'
        f'<text x="{x(i):.1f}" y="{h - pad + 16}" font-size="10" text-anchor="middle">{e(label)}</text>'
        for i, (label, v) in enumerate(points)
    )
    line = (
        f'<line x1="{pad}" x2="{w - pad}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
        f'stroke="#b3261e" stroke-dasharray="4 3"><title>threshold {threshold}</title></line>'
        if threshold is not None
        else ""
    )
    axis = (
        f'<text x="4" y="{y(hi) + 4:.1f}" font-size="10">{hi:.3f}</text>'
        f'<text x="4" y="{y(lo) + 4:.1f}" font-size="10">{lo:.3f}</text>'
    )
    return (
        f'<figure><svg role="img" aria-label="{e(title)}" viewBox="0 0 {w} {h}" width="100%">'
        f'<text x="{w / 2}" y="16" font-size="12" text-anchor="middle">{e(title)}</text>{axis}{line}'
        f'<polyline fill="none" stroke="#017cee" stroke-width="2" points="{path}"/>{dots}</svg></figure>'
    )


# --- one pipeline --------------------------------------------------------------------------------
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
            verdict = (
                '<span class="ok">promoted</span>' if dec["promoted"] else '<span class="bad">refused</span>'
            ) + f" {e(dec['reason'])}"
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
                *[_score(v["metrics"].get(m)) for m in metric_names],
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
            f"<p>Champion: <b>v{e(champ['version'])}</b>, {e(metric)} = {_score(champ['score'])}</p>"
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
        validation = (_status(v["status"]) + docs + result + failed) if v else _status(None)
        if q:
            validation = f'<span class="warn">quarantined at ingest</span>: {e(q.get("reason"))}'
        drift = (
            f"{float(dr['drift_share']):.0%} "
            + ('<span class="bad">DRIFT</span>' if dr["drift_detected"] else '<span class="ok">ok</span>')
            + (f' <span class="bad">fired: {e(", ".join(dr["fired"]))}</span>' if dr.get("fired") else "")
            + f' <a href="{root}/batches/{e(b["ds"])}/drift">report</a>'
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
            _score(s),
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
                _score(sig.get("value")),
                _score(sig.get("threshold")),
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
        ["metrics (held-out)", ", ".join(f"{e(k)} = {_score(x)}" for k, x in sorted(v["metrics"].items()))],
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
