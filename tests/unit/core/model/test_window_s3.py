"""The commit ledger on an object store: a real S3 HTTP endpoint on loopback (moto's server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_mlops.core.data import commits
from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.errors import DataNotFoundError, VanishedDataError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.model.window import plan_window
from dev.datasets import write_flights
from tests.unit.core.conftest import FLIGHTS_YAML

pytestmark = pytest.mark.unit
DAYS = ["2013-01-02", "2013-01-03", "2013-01-04"]


@pytest.fixture
def s3_lake() -> Iterator[Lake]:
    import uuid

    import boto3
    import s3fs
    from moto.server import ThreadedMotoServer

    # moto keeps its buckets in the process, shared by every server: a bucket of this test's own.
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    ).create_bucket(Bucket=bucket)
    fs = s3fs.S3FileSystem(
        key="k", secret="s", client_kwargs={"endpoint_url": endpoint}, skip_instance_cache=True
    )
    try:
        yield Lake(f"s3://{bucket}/lake", fs=fs)
    finally:
        server.stop()


def test_a_partition_deleted_from_s3_is_known_vanished(home: Path, s3_lake: Lake) -> None:
    write_flights((home / "raw").as_uri(), DAYS)
    cfg = load_pipeline(FLIGHTS_YAML)
    for ds in DAYS:
        ingest(cfg, s3_lake, ds)
    cat = Catalog(s3_lake, cfg.name)
    assert commits.committed(cat) == DAYS and all(len(commits.history(cat, d)) == 1 for d in DAYS)
    again = ingest(cfg, s3_lake, DAYS[0])
    assert again.unchanged and len(commits.history(cat, DAYS[0])) == 1, (
        "an unchanged re-ingest commits nothing"
    )

    s3_lake.remove(cat.partition(DAYS[1]))
    assert cat.manifest(DAYS[1]) is None
    with pytest.raises(VanishedDataError, match=rf"lost 1 interval\(s\).*{DAYS[1]} \(committed 20"):
        plan_window(cfg, cat, 3, DAYS[-1])
    # With skip it is recorded; nothing here was validated, so nothing is left to train on.
    skip = cfg.model_copy(update={"split": cfg.split.model_copy(update={"on_vanished": "skip"})})
    with pytest.raises(DataNotFoundError, match=rf"{DAYS[1]} vanished") as e:
        plan_window(skip, cat, 3, DAYS[-1])
    assert f"{DAYS[0]} not validated" in str(e.value)
