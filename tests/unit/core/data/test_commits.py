"""The commit ledger: every commit is a file of its own, never overwritten, read back in order."""

from __future__ import annotations

import pytest

from airflow_mlops.core.data import commits
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.lake import Lake

pytestmark = pytest.mark.unit


def test_each_commit_is_kept_and_read_back_oldest_first(lake: Lake) -> None:
    cat = Catalog(lake, "flights_delay")
    assert commits.committed(cat) == [] and not commits.has(cat, "2013-01-02")
    first = commits.record(cat, "2013-01-02", {"content_hash": "a" * 64, "rows": 10, "data": "x.parquet"})
    second = commits.record(cat, "2013-01-02", {"content_hash": "b" * 64, "rows": 12, "data": "y.parquet"})
    commits.record(cat, "2013-01-01", {"content_hash": "c" * 64, "rows": 3})
    assert first != second and first.startswith(cat.commits_dir("2013-01-02"))
    assert commits.committed(cat) == ["2013-01-01", "2013-01-02"]
    assert commits.has(cat, "2013-01-02") and not commits.has(cat, "2013-01-03")
    entries = sorted(commits.history(cat, "2013-01-02"), key=lambda e: e["committed_at"])
    assert [(e["rows"], e["content_hash"][:1], e["data"]) for e in entries] == [
        (10, "a", "x.parquet"),
        (12, "b", "y.parquet"),
    ]


def test_a_commit_file_is_never_overwritten(lake: Lake) -> None:
    cat = Catalog(lake, "p")
    uri = commits.record(cat, "2013-01-02", {"content_hash": "a" * 64})
    assert lake.create_exclusive(uri, b"{}") is False
    assert commits.history(cat, "2013-01-02")[0]["content_hash"] == "a" * 64
