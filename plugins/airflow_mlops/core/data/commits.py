"""The commit ledger: an append-only record of every snapshot ingest committed, outside the
partition folders, so that a partition that disappears is known to have existed.

``<lake>/<pipeline>/commits/ds=<ds>/<UTC time>-<hash16>-<random>.json``, one file per commit, created
exclusively and never removed. An interval committed and now without a manifest *vanished*; one
never committed is *missing* (never arrived, or refused): the catalog alone cannot tell them apart.
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
    entry = {k: manifest.get(k) for k in ("data", "content_hash", "rows", "airflow_run_id")}
    entry |= {"ds": ds, "committed_at": now.isoformat()}
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
