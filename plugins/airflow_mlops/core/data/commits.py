"""The commit ledger: an append-only record of every snapshot ingest committed, outside the
partition folders, so that a partition that disappears is known to have existed.

``<lake>/<pipeline>/commits/ds=<ds>/<UTC time>-<hash16>-<random>.json``, one small file per commit,
each created exclusively (never overwritten, never removed by this package). It is the source of
truth for what the lake should hold: an interval committed and now without a manifest *vanished*
(someone or something deleted it); an interval never committed is *missing* (it never arrived, or
was refused). The catalog alone cannot tell those apart.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from airflow_mlops.core.foundation.catalog import Catalog


def record(cat: Catalog, ds: str, manifest: dict[str, Any]) -> str:
    """Append one commit of interval ``ds`` (what its manifest says) to the ledger; returns its URI."""
    now = datetime.now(UTC)
    name = (
        f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{str(manifest.get('content_hash'))[:16]}-{uuid.uuid4().hex[:8]}"
    )
    uri = f"{cat.commits_dir(ds)}/{name}.json"
    entry = {
        "ds": ds,
        "data": manifest.get("data"),
        "content_hash": manifest.get("content_hash"),
        "rows": manifest.get("rows"),
        "airflow_run_id": manifest.get("airflow_run_id"),
        "committed_at": now.isoformat(),
    }
    cat.lake.create_exclusive(uri, json.dumps(entry, sort_keys=True).encode())
    return uri


def committed(cat: Catalog) -> list[str]:
    """Every interval (YYYY-MM-DD) ingest ever committed, oldest first."""
    names = cat.lake.listdir(cat.commits_root)
    return sorted(n.removeprefix("ds=") for n in names if n.startswith("ds="))


def has(cat: Catalog, ds: str) -> bool:
    """Whether interval ``ds`` has at least one commit in the ledger."""
    return any(n.endswith(".json") for n in cat.lake.listdir(cat.commits_dir(ds)))


def history(cat: Catalog, ds: str) -> list[dict[str, Any]]:
    """The commits of interval ``ds``, oldest first."""
    folder = cat.commits_dir(ds)
    return [cat.lake.read_json(f"{folder}/{n}") for n in cat.lake.listdir(folder) if n.endswith(".json")]
