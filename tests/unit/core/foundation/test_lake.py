"""The lake's atomic writes on local disk: a file appears whole under its name or not at all, an
exclusive create refuses a name that exists, and no temporary file outlives its write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_mlops.core.foundation.errors import LakeWriteError
from airflow_mlops.core.foundation.lake import Lake, write_synced

pytestmark = pytest.mark.unit


def _lake(tmp_path: Path) -> Lake:
    return Lake((tmp_path / "lake").as_uri())


def _staged(lake: Lake) -> list[str]:
    return os.listdir(lake.staging_dir) if os.path.isdir(lake.staging_dir) else []


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    uri = lake.uri("p", "ds=2024-01-01", "a.json")
    lake.write_json(uri, {"n": 1})
    lake.write_json(uri, {"n": 2})
    assert lake.read_json(uri) == {"n": 2}
    assert _staged(lake) == []


def test_an_exclusive_create_refuses_an_existing_name_and_keeps_its_content(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    uri = lake.uri("p", "lock")
    assert lake.create_exclusive(uri, b"first") is True
    assert lake.create_exclusive(uri, b"second") is False
    assert lake.read_bytes(uri) == b"first"
    assert _staged(lake) == []


def test_a_failed_rename_names_the_uri_and_leaves_nothing(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    folder = lake.uri("p", "taken")
    (tmp_path / "lake" / "p" / "taken").mkdir(parents=True)
    (tmp_path / "lake" / "p" / "taken" / "x").write_text("a folder, not a file")
    with pytest.raises(LakeWriteError, match=r"taken: write to the lake failed"):
        lake.write_bytes(folder, b"data")
    assert _staged(lake) == []


def test_write_synced_writes_text_as_utf8_and_bytes_as_they_are(tmp_path: Path) -> None:
    write_synced(str(tmp_path / "t"), "å\n")
    write_synced(str(tmp_path / "b"), b"\x00\x01")
    assert (tmp_path / "t").read_bytes() == "å\n".encode()
    assert (tmp_path / "b").read_bytes() == b"\x00\x01"
