"""A model card's page: its Markdown as self-contained HTML (inline CSS, nothing fetched, every value
escaped), so it renders offline and in the UI's sandboxed iframe."""

from __future__ import annotations

import html
import re

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1d2330;line-height:1.45}
h1{font-size:1.5rem;border-bottom:2px solid #017cee;padding-bottom:.3rem}
h2{font-size:1.15rem;margin-top:1.8rem;color:#0b3d6e}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
th,td{border:1px solid #d5dbe5;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f4f9}code{background:#f3f4f6;padding:0 .25rem;border-radius:3px;font-size:.9em}
strong{color:#0b3d6e}
""".strip()
_SPLIT = re.compile(r"(?<!\\)\|")


def _inline(text: str) -> str:
    """Escape, then the two inline marks the card uses: ``**bold**`` and `` `code` ``."""
    out = html.escape(text.replace("\\|", "|"), quote=True)
    out = re.sub(r"`([^`]*)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in _SPLIT.split(line.strip().strip("|"))]


def card_html(markdown_text: str) -> str:
    """A self-contained HTML page of the card's Markdown: inline CSS, no external resource, every
    value escaped, and a Content-Security-Policy that forbids fetching anything at all."""
    body: list[str] = []
    para: list[str] = []
    items: list[str] = []
    table: list[str] = []
    title = "Model card"

    def flush() -> None:
        if para:
            body.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if items:
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()
        if table:
            head, *rest = table
            rows = [r for r in rest if not re.fullmatch(r"\|?[\s|:-]+\|?", r)]
            th = "".join(f"<th>{_inline(c)}</th>" for c in _cells(head))
            trs = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(r)) + "</tr>" for r in rows
            )
            body.append(f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>")
            table.clear()

    for raw in markdown_text.splitlines():
        line = raw.rstrip()
        heading = re.match(r"(#{1,3}) (.*)", line)
        kind = "h" if heading else "t" if line.startswith("|") else "l" if line.startswith("- ") else "p"
        if (
            not line
            or kind == "h"
            or (kind != "t" and table)
            or (kind != "l" and items)
            or (kind != "p" and para)
        ):
            flush()
        if heading:
            level, text = len(heading.group(1)), heading.group(2)
            if level == 1:
                title = text
            body.append(f"<h{level}>{_inline(text)}</h{level}>")
        elif kind == "t":
            table.append(line)
        elif kind == "l":
            items.append(line[2:])
        elif line:
            para.append(line)
    flush()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title.replace('`', ''))}</title><style>{_CSS}</style></head>\n"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
