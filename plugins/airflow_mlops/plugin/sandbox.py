"""How the view answers, by what a response carries: the one place its security headers are set.

- **Data pages** (:func:`data_response`): what other tools wrote from the data (GX data docs,
  Evidently reports, model cards, any file of a batch's reports) runs its own scripts and embeds
  values nobody here escaped, so it gets ``sandbox allow-scripts`` without ``allow-same-origin``:
  an opaque origin, whose scripts cannot read Airflow's ``_token`` cookie (not HttpOnly), send no
  cookie, may not submit forms or fetch (``connect-src 'none'``), and cannot reach into the view.
- **View pages** (:func:`page_response`): what ``pages.py`` renders, every value escaped. They keep
  Airflow's origin (their forms post with the caller's session) and may run no script but the
  one confirmation handler of their forms, allowed by hash.
- **Vendored assets** (:func:`asset_response`): the CSS, JS and fonts the data docs load. A page
  with an opaque origin requests them without a cookie, so they are public (they hold no data),
  and fonts, which are fetched with CORS, say so with ``Access-Control-Allow-Origin: *``.

Every response also says ``X-Content-Type-Options: nosniff``, so a file is never read as another type.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

from fastapi.responses import HTMLResponse, Response

from airflow_mlops.plugin import pages

PREFIX: Final = "/mlops"
#: A CDN URL's telling part -> the vendored copy of the same version (see static/vendor/LICENSES.md).
VENDORED: Final = {
    "bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1.min.css",
    "bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1.bundle.min.js",
    "jquery-3.7.1.min.js": "jquery-3.7.1.min.js",
    "bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table-1.19.1.min.css",
    "bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table-1.19.1.min.js",
    "font-awesome/6.6.0/css/all.min.css": "fontawesome-free-6.6.0/css/all.min.css",
}
NOSNIFF: Final = {"X-Content-Type-Options": "nosniff"}
#: Data pages: an opaque origin that may run its own inline scripts and load this server's files,
#: and nothing else (no fetch, no form, no other origin, no framing but by the view).
DATA_CSP: Final = (
    "sandbox allow-scripts; default-src 'self' 'unsafe-inline' data: blob:; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'none'; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'"
)


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


#: View pages: inline styles and SVG, frames of this server (the drift report), forms to this
#: server, and no script but the forms' confirmation handler (by hash: 'unsafe-hashes').
PAGE_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
    f"script-src 'unsafe-hashes' {_hash(pages.CONFIRM)}; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self'"
)
TYPES: Final = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "css": "text/css",
    "js": "text/javascript",
    "png": "image/png",
    "svg": "image/svg+xml",
    "ico": "image/x-icon",
    "woff": "font/woff",
    "woff2": "font/woff2",
}


def media_type(path: str) -> str:
    """The type a file is served as, by its suffix; unknown ones as bytes to download."""
    return TYPES.get(path.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def page_response(body: str, status: int = 200) -> HTMLResponse:
    """A page of the view itself (``pages.py``)."""
    return HTMLResponse(body, status_code=status, headers={"Content-Security-Policy": PAGE_CSP, **NOSNIFF})


def data_response(data: bytes | str, kind: str = TYPES["html"]) -> Response:
    """A page or file made from data, in a sandbox of its own (whatever its type: an SVG or an
    HTML file may hold scripts). HTML has its CDN links pointed at the vendored copies."""
    body = data.encode() if isinstance(data, str) else data
    if kind.startswith("text/html"):
        body = offline_html(body)
    headers = {
        "Content-Security-Policy": DATA_CSP,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-store",
        **NOSNIFF,
    }
    return Response(body, media_type=kind, headers=headers)


def asset_response(data: bytes, kind: str) -> Response:
    """A vendored stylesheet, script or font: public, cacheable, loadable from an opaque origin."""
    headers = {"Cache-Control": "public, max-age=86400", "Access-Control-Allow-Origin": "*", **NOSNIFF}
    return Response(data, media_type=kind, headers=headers)


def offline_html(data: bytes) -> bytes:
    """A report page that fetches nothing from another origin: the CDN tags of GX data docs
    (Bootstrap, jQuery, bootstrap-table, Font Awesome) point at the copies in ``static/vendor``;
    every other remote stylesheet, script or image is dropped. The CSP forbids such loads anyway;
    this keeps the page styled."""

    def local(m: re.Match[str]) -> str:
        tag = m.group(0)
        for needle, asset in VENDORED.items():
            if needle in tag:
                url = f"{PREFIX}/static/vendor/{asset}"
                return (
                    f'<script src="{url}"></script>'
                    if asset.endswith(".js")
                    else f'<link rel="stylesheet" href="{url}">'
                )
        return ""

    text = data.decode("utf-8", errors="replace")
    text = re.sub(r"<link[^>]+href=[\"']https?://[^>]*>", local, text, flags=re.I)
    text = re.sub(r"<script[^>]+src=[\"']https?://[^>]*>\s*</script>", local, text, flags=re.I)
    text = re.sub(r"<img[^>]+src=[\"']https?://[^>]*>", "", text, flags=re.I)
    text = re.sub(r"url\(\s*[\"']?https?://[^)]*\)", "none", text, flags=re.I)
    return text.encode()
