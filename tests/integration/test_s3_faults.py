"""The S3 endpoint dies in the middle of a write: no partial object is ever read as a snapshot or report.

A fault-injecting TCP proxy (``_faulty_proxy``) sits between s3fs and the S3 endpoint (moto's server
on loopback) and, when armed, lets only part of a chosen PUT's body through before it resets the
connection (or answers 503). Every check of what was left behind goes straight to the endpoint, not
through the proxy. The lake's promise under test: a snapshot is committed by its manifest, written
after its data file, and every object is written by one PUT, so a cut write leaves the previous
snapshot (or report) whole and committed, and a retry gives exactly what a run without a fault gives.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
import s3fs
from botocore.exceptions import BotoCoreError

from airflow_mlops.core.data.ingest import SnapshotResult, ingest
from airflow_mlops.core.data.normalize import content_hash
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.errors import LakeWriteError
from airflow_mlops.core.foundation.lake import Lake
from dev.datasets import write_flights
from tests.conftest import PIPELINES
from tests.integration._faulty_proxy import Cut, FaultyProxy, Mode
from tests.integration.conftest import S3, S3_KEY, S3_REGION, S3_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

DAY = "2013-01-02"
PIPELINE = "flights_delay"


@dataclass(frozen=True)
class Flights:
    """Day 1 of flights as delivered first, and as re-delivered with every tenth row gone."""

    cfg: PipelineConfig
    raw_file: Path
    original: str
    changed: str

    def deliver(self, text: str) -> None:
        self.raw_file.write_text(text)


@pytest.fixture(scope="module")
def flights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flights]:
    home = tmp_path_factory.mktemp("s3-faults")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_LAKE_CONN_ID", "MLFLOW_TRACKING_URI"):
            mp.delenv(var, raising=False)
        mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
        mp.setenv("AIRFLOW_MLOPS_RAW_ROOT", (home / "raw").as_uri())
        (path,) = write_flights((home / "raw").as_uri(), [DAY])
        raw_file = Path(urlsplit(path).path)
        original = raw_file.read_text()
        header, *rows = original.splitlines(keepends=True)
        changed = header + "".join(r for i, r in enumerate(rows) if i % 10)
        yield Flights(load_pipeline(PIPELINES / f"{PIPELINE}.yaml"), raw_file, original, changed)


@pytest.fixture(scope="module")
def proxy(s3: S3) -> Iterator[FaultyProxy]:
    url = urlsplit(s3.endpoint)
    p = FaultyProxy((str(url.hostname), int(url.port or 80)))
    try:
        yield p
    finally:
        p.close()


@pytest.fixture(autouse=True)
def _disarmed(proxy: FaultyProxy) -> Iterator[None]:
    """Each test starts and ends with a proxy that passes everything and has seen no cut."""
    proxy.disarm()
    proxy.cuts.clear()
    yield
    proxy.disarm()


def s3_fs(endpoint: str, *, retries: bool) -> Any:
    """An S3 filesystem of its own; ``retries=False`` makes one attempt per call (s3fs and botocore)."""
    opts: dict[str, Any] = {
        "endpoint_url": endpoint,
        "key": S3_KEY,
        "secret": S3_SECRET,
        "client_kwargs": {"region_name": S3_REGION},
        "skip_instance_cache": True,
    }
    if not retries:
        opts["config_kwargs"] = {"retries": {"total_max_attempts": 1, "mode": "standard"}}
    fs = s3fs.S3FileSystem(**opts)
    if not retries:
        fs.retries = 1  # s3fs's own retry loop (a class attribute, 5 by default)
    return fs


def lakes(s3: S3, proxy: FaultyProxy, prefix: str, *, retries: bool = False) -> tuple[Lake, Lake]:
    """The same lake root reached through the proxy, and straight from the endpoint."""
    root = f"s3://lake/{prefix}"
    return Lake(root, s3_fs(proxy.url, retries=retries)), Lake(root, s3_fs(s3.endpoint, retries=True))


@dataclass(frozen=True)
class Clean:
    """The re-delivered day ingested by a run that never met a fault."""

    result: SnapshotResult
    manifest: dict[str, Any]


@pytest.fixture(scope="module")
def clean(s3: S3, proxy: FaultyProxy, flights: Flights) -> Clean:
    _, direct = lakes(s3, proxy, "clean")
    flights.deliver(flights.changed)
    result = ingest(flights.cfg, direct, DAY)
    manifest = Catalog(direct, PIPELINE).manifest(DAY)
    assert manifest is not None
    return Clean(result, manifest)


# --- what was left behind, read straight from the endpoint ---------------------------------------
def assert_nothing_truncated(s3: S3, prefix: str, rows_by_hash: dict[str, int], cuts: list[Cut]) -> set[str]:
    """Every object under ``prefix`` is whole: Parquet reads with the full row count of the snapshot
    its name says, JSON parses, HTML ends; nothing has the size of a cut's forwarded prefix."""
    client = s3.client()
    keys = set(s3.keys("lake", f"{prefix}/"))
    assert keys, f"nothing under s3://lake/{prefix}/"
    cut_keys = {c.target.split("?")[0].removeprefix("/lake/") for c in cuts}
    for key in sorted(keys):
        body = client.get_object(Bucket="lake", Key=key)["Body"].read()
        name = key.rsplit("/", 1)[1]
        if key in cut_keys:
            assert len(body) not in {c.forwarded for c in cuts}, f"{key}: as long as a cut's prefix"
        if name.endswith(".parquet"):
            digest16 = name.removeprefix("data-").removesuffix(".parquet")
            assert digest16 in rows_by_hash, f"{key}: a snapshot nobody wrote whole"
            assert len(pd.read_parquet(io.BytesIO(body))) == rows_by_hash[digest16], key
        elif name.endswith(".json"):
            json.loads(body)
        elif name.endswith(".html"):
            assert body.rstrip().endswith(b"</html>"), f"{key}: HTML cut short"
    return keys


def assert_no_open_multipart_upload(s3: S3) -> None:
    """An open multipart upload could be completed later into an object nobody meant to commit."""
    assert s3.client().list_multipart_uploads(Bucket="lake").get("Uploads", []) == []


def assert_committed(direct: Lake, snap: SnapshotResult) -> None:
    """The manifest names ``snap``, and the snapshot validate would read (the file the committed
    manifest names) is whole: the same rows, the same content hash."""
    cat = Catalog(direct, PIPELINE)
    m = cat.committed_manifest(DAY)
    assert (m["content_hash"], m["rows"]) == (snap.content_hash, snap.rows)
    assert cat.snapshot_uri(DAY, m).rsplit("/", 1)[1] == snap.uri.rsplit("/", 1)[1]
    df = direct.read_parquet(cat.snapshot_uri(DAY, m))
    assert (len(df), content_hash(df)) == (snap.rows, snap.content_hash)
    assert content_hash(cat.lake.read_parquet(cat.snapshot_uri(DAY))) == snap.content_hash


def assert_cut_mid_body(cuts: list[Cut], match: str) -> None:
    assert cuts, "the fault never fired"
    for c in cuts:
        assert c.request_line.startswith("PUT ") and match in c.target, c
        assert 0 < c.forwarded < c.content_length, c


def assert_same_as_clean(again: SnapshotResult, clean: Clean, direct: Lake) -> None:
    """A retry after the fault gives what a run without a fault gave (the paths differ by root)."""
    for f in ("content_hash", "rows", "rows_raw", "rows_filtered", "columns", "source_uri"):
        assert getattr(again, f) == getattr(clean.result, f), f
    assert again.uri.rsplit("/", 1)[1] == clean.result.uri.rsplit("/", 1)[1]
    m = Catalog(direct, PIPELINE).committed_manifest(DAY)
    volatile = {"ingested_at", "airflow_run_id"}
    assert {k: v for k, v in m.items() if k not in volatile} == {
        k: v for k, v in clean.manifest.items() if k not in volatile
    }
    assert_committed(direct, again)


# --- the tests -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["reset", "503"])
@pytest.mark.parametrize("target", ["data", "manifest"])
def test_a_put_cut_mid_body_leaves_the_old_snapshot_committed(
    s3: S3, proxy: FaultyProxy, flights: Flights, clean: Clean, target: str, mode: Mode
) -> None:
    """No retries: the fault surfaces at once, as a LakeWriteError that names the object."""
    prefix = f"cut-{target}-{mode}"
    via_proxy, direct = lakes(s3, proxy, prefix)
    flights.deliver(flights.original)
    first = ingest(flights.cfg, via_proxy, DAY)
    assert first.content_hash != clean.result.content_hash and not proxy.cuts

    partition = f"{prefix}/{PIPELINE}/batches/ds={DAY}"
    new_data = f"{partition}/{clean.result.uri.rsplit('/', 1)[1]}"
    cut_key = new_data if target == "data" else f"{partition}/manifest.json"
    proxy.arm(f"/lake/{cut_key}", mode=mode, times=None)
    flights.deliver(flights.changed)
    with pytest.raises(LakeWriteError) as err:
        ingest(flights.cfg, via_proxy, DAY)
    proxy.disarm()

    assert f"s3://lake/{cut_key}:" in str(err.value) and "retry is safe" in str(err.value)
    assert isinstance(err.value.__cause__, OSError | BotoCoreError)
    if mode == "503":
        assert "reduce your request rate" in str(err.value)
    assert_cut_mid_body(proxy.cuts, cut_key)

    rows = {first.content_hash[:16]: first.rows, clean.result.content_hash[:16]: clean.result.rows}
    keys = assert_nothing_truncated(s3, prefix, rows, proxy.cuts)
    # The data file is either absent (its own PUT was cut) or whole, and not committed (the manifest's was).
    assert (new_data in keys) == (target == "manifest")
    assert_committed(direct, first)
    assert_no_open_multipart_upload(s3)

    again = ingest(flights.cfg, via_proxy, DAY)
    assert not again.unchanged
    assert_same_as_clean(again, clean, direct)
    assert_nothing_truncated(s3, prefix, rows, [])


def test_default_retries_hide_a_short_fault_and_name_the_object_of_a_long_one(
    s3: S3, proxy: FaultyProxy, flights: Flights, clean: Clean
) -> None:
    """What a user with s3fs's and botocore's default retries gets: one cut PUT is retried and
    nobody notices; an endpoint that keeps dying fails the task, after several attempts, with the
    object's name."""
    prefix = "default-retries"
    via_proxy, direct = lakes(s3, proxy, prefix, retries=True)
    partition = f"{prefix}/{PIPELINE}/batches/ds={DAY}"
    flights.deliver(flights.original)
    first = ingest(flights.cfg, via_proxy, DAY)

    proxy.arm(f"/lake/{partition}/data-", times=1)
    flights.deliver(flights.changed)
    again = ingest(flights.cfg, via_proxy, DAY)
    assert len(proxy.cuts) == 1
    assert_cut_mid_body(proxy.cuts, f"{partition}/data-")
    assert_same_as_clean(again, clean, direct)

    proxy.cuts.clear()
    flights.deliver(flights.original)
    proxy.arm(f"/lake/{partition}/manifest.json", times=None)
    with pytest.raises(LakeWriteError) as err:
        ingest(flights.cfg, via_proxy, DAY)
    proxy.disarm()
    assert f"s3://lake/{partition}/manifest.json:" in str(err.value)
    assert len(proxy.cuts) > 1, "the default retries did not retry"
    assert_cut_mid_body(proxy.cuts, f"{partition}/manifest.json")
    rows = {first.content_hash[:16]: first.rows, clean.result.content_hash[:16]: clean.result.rows}
    assert_nothing_truncated(s3, prefix, rows, proxy.cuts)
    assert_committed(direct, again)  # still the re-delivery: the original's manifest never landed
    assert_no_open_multipart_upload(s3)


def test_a_cut_validation_result_is_never_read_as_a_report(
    s3: S3, proxy: FaultyProxy, flights: Flights
) -> None:
    """The validation result (the report) and its summary (the verdict, written last): a cut first
    write leaves neither; a cut rewrite leaves the previous ones byte for byte."""
    from airflow_mlops.core.data.validate import validate_snapshot

    prefix = "validation"
    via_proxy, direct = lakes(s3, proxy, prefix)
    flights.deliver(flights.original)
    snap = ingest(flights.cfg, direct, DAY)
    cat = Catalog(direct, PIPELINE)
    result_key = f"{prefix}/{PIPELINE}/batches/ds={DAY}/validation/result.json"
    result_uri = f"s3://lake/{result_key}"
    assert cat.validation_result_uri(DAY) == result_uri

    proxy.arm(f"/lake/{result_key}", mode="reset", times=None)
    with pytest.raises(LakeWriteError, match=f"{result_uri}:"):
        validate_snapshot(flights.cfg, via_proxy, DAY)
    proxy.disarm()
    assert_cut_mid_body(proxy.cuts, result_key)
    assert not direct.exists(result_uri)
    assert cat.validation(DAY) is None and not cat.is_validated(DAY)
    assert_nothing_truncated(s3, prefix, {snap.content_hash[:16]: snap.rows}, proxy.cuts)

    verdict = validate_snapshot(flights.cfg, via_proxy, DAY)
    assert verdict.success and cat.is_validated(DAY)
    report = direct.read_bytes(result_uri)
    summary = direct.read_bytes(cat.validation_summary_uri(DAY))
    assert json.loads(report)["success"] is True

    proxy.cuts.clear()
    proxy.arm(f"/lake/{result_key}", mode="503", times=None)
    with pytest.raises(LakeWriteError, match=f"{result_uri}:"):
        validate_snapshot(flights.cfg, via_proxy, DAY)
    proxy.disarm()
    assert_cut_mid_body(proxy.cuts, result_key)
    assert direct.read_bytes(result_uri) == report
    assert direct.read_bytes(cat.validation_summary_uri(DAY)) == summary
    assert_nothing_truncated(s3, prefix, {snap.content_hash[:16]: snap.rows}, proxy.cuts)
    assert_no_open_multipart_upload(s3)
