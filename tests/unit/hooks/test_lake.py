"""LakeHook: local paths need no connection; object storage is reached through an Airflow connection.

The S3 side talks to a real S3 HTTP endpoint on loopback (moto's server mode), through the same
Airflow AWS connection a deployment uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_mlops.hooks import LakeHook
from tests.unit.hooks.conftest import assert_airflow_conventions

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="raw/2013-01-02.csv", Body=b"a\n1\n")
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def aws_conn(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    conn = {"conn_type": "aws", "login": "k", "password": "s", "extra": {"endpoint_url": s3_endpoint}}
    monkeypatch.setenv("AIRFLOW_CONN_LAKE_S3", json.dumps(conn))
    return "lake_s3"


def test_local_files_need_no_connection(home: Path) -> None:
    hook = LakeHook()
    assert hook.conn_id is None and hook.filesystem((home / "x").as_uri()) is None
    assert not hook.file_exists((home / "raw.csv").as_uri())
    (home / "raw.csv").write_text("a\n")
    assert hook.file_exists((home / "raw.csv").as_uri())
    # A pattern exists once a file matches it.
    pattern = f"file://{home}/parts/2013-01-02-*.csv"  # as a pipeline writes it (as_uri would quote *)
    assert not hook.file_exists(pattern)
    (home / "parts").mkdir()
    (home / "parts" / "2013-01-02-00.csv").write_text("a\n")
    assert hook.file_exists(pattern)
    assert hook.get_lake().root == (home / "lake").as_uri()


def test_a_source_without_a_connection_uses_the_lakes(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_MLOPS_LAKE_CONN_ID", "lake_conn")
    assert LakeHook().conn_id == "lake_conn" and LakeHook(None).conn_id == "lake_conn"
    assert LakeHook("source_conn").conn_id == "source_conn"


def test_object_storage_through_the_connection(
    aws_conn: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = LakeHook(aws_conn)
    assert hook.file_exists("s3://lake/raw/2013-01-02.csv")
    assert not hook.file_exists("s3://lake/raw/2013-01-03.csv")
    assert hook.file_exists("s3://lake/raw/2013-01-0[12].csv")
    assert not hook.file_exists("s3://lake/raw/2013-01-03*.csv")
    monkeypatch.setenv("AIRFLOW_MLOPS_LAKE_ROOT", "s3://lake/lake")
    monkeypatch.setenv("AIRFLOW_MLOPS_LAKE_CONN_ID", aws_conn)
    lake = LakeHook().get_lake()
    lake.write_json(lake.uri("p", "x.json"), {"a": 1})
    assert lake.read_json("s3://lake/lake/p/x.json") == {"a": 1}
    assert LakeHook().file_exists("s3://lake/lake/p/x.json")


def test_a_failed_write_names_the_lake_uri_and_leaves_nothing(tmp_path: Path) -> None:
    """The OS error alone names a temporary file; the task log must name the file of the lake."""
    from airflow_mlops.core.foundation.errors import LakeWriteError
    from airflow_mlops.core.foundation.lake import Lake

    lake = Lake(tmp_path.as_uri())
    (tmp_path / "p").write_text("a file where a directory should be")
    uri = lake.uri("p", "batches", "manifest.json")
    with pytest.raises(LakeWriteError, match=f"^{uri}: write to the lake failed") as err:
        lake.write_json(uri, {"a": 1})
    assert isinstance(err.value.__cause__, OSError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_the_hook_follows_airflow_conventions() -> None:
    assert_airflow_conventions(LakeHook)


def test_the_lake_takes_its_connection_from_the_argument_then_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_MLOPS_LAKE_CONN_ID", raising=False)
    assert LakeHook.default_conn_name is None and LakeHook().lake_conn_id is None
    monkeypatch.setenv("AIRFLOW_MLOPS_LAKE_CONN_ID", "from_env")
    assert LakeHook().lake_conn_id == "from_env" == LakeHook().conn_id
    assert LakeHook(lake_conn_id="from_arg").lake_conn_id == "from_arg"


def test_operators_pass_their_lake_connection_to_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_mlops.base import PipelineOperator

    seen: list[str | None] = []

    class Spy(LakeHook):
        def get_lake(self):  # type: ignore[no-untyped-def]
            seen.append(self.lake_conn_id)

    monkeypatch.setattr("airflow_mlops.hooks.lake.LakeHook", Spy)
    op = PipelineOperator(task_id="t", pipeline="p", lake_conn_id="lake_s3")
    op.lake  # noqa: B018
    assert seen == ["lake_s3"]
