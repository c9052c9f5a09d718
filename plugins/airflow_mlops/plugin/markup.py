"""The building blocks of the MLOps view's pages: the stylesheet, escaping, the page frame,
tables, number and status cells, and an inline SVG line chart.

Plain HTML with inline CSS and SVG: nothing is fetched from another origin, so the view works
offline under a strict Content-Security-Policy. Every value is escaped here, once.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

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


def score(x: Any) -> str:
    """A score with four decimals (empty for None)."""
    return "" if x is None else f"{float(x):.4f}"


def status(s: str | None) -> str:
    """A batch's validation status, coloured."""
    cls = {"validated": "ok", "failed": "bad", "quarantined": "warn"}.get(s or "", "muted")
    return f'<span class="{cls}">{e(s or "not validated")}</span>'


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
