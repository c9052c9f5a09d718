"""Validation of real snapshots with the shipped Great Expectations suites, on real files in tmp dirs.

GX-heavy work (ingest + validate) runs once per module in fixtures; the tests read what it wrote.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.suite import builtin_expectations
from airflow_mlops.core.data.validate import ValidationResult, validate_snapshot
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.errors import ConfigError, DataNotFoundError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.settings import get_settings
from dev.datasets import write_diabetes, write_flights
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

PIPELINES = ROOT / "include" / "pipelines"
EXPECTATIONS = ROOT / "include" / "expectations"

# Real days at the edges of the contract: the longest departure delay of 2013 (1,301 min, JFK-HNL),
# the fewest arrived flights (291, the day after blizzard Nemo) and the earliest departure (-43 min).
EDGE_DAYS = ["2013-01-09", "2013-02-09", "2013-12-07"]
BAD_DAY = "2013-01-02"
STALE_DAY = "2013-01-03"


@dataclass
class World:
    cfg: PipelineConfig
    lake: Lake
    raw_root: str
    suite_path: Path
    results: dict[str, ValidationResult]
    summaries: dict[str, dict[str, Any]]

    @property
    def catalog(self) -> Catalog:
        return Catalog(self.lake, self.cfg.name)


def _isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    mp.setenv("AIRFLOW_MLOPS_HOME", str(home))
    for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "AIRFLOW_MLOPS_EXPECTATIONS_DIR"):
        mp.delenv(var, raising=False)


def _validate_all(cfg: PipelineConfig, lake: Lake, days: list[str], suite: Path) -> World:
    results, summaries = {}, {}
    for ds in days:
        ingest(cfg, lake, ds)
        results[ds] = validate_snapshot(cfg, lake, ds, suite)
        summary = Catalog(lake, cfg.name).validation(ds)
        assert summary is not None
        summaries[ds] = summary
    return World(cfg, lake, get_settings().raw_root, suite, results, summaries)


@pytest.fixture(scope="module")
def flights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("flights"))
        cfg = load_pipeline(PIPELINES / "flights_delay.yaml")
        raw_root = get_settings().raw_root
        write_flights(raw_root, [*EDGE_DAYS, BAD_DAY, STALE_DAY])
        # A corrupted delivery: unknown airports and an impossible delay, still well-typed.
        raw = Lake(raw_root)
        uri = raw.uri("flights", f"{BAD_DAY}.csv")
        df = pd.read_csv(io.BytesIO(raw.read_bytes(uri)), dtype=str)
        df.loc[df.index[:5], "origin"] = "XXX"
        df.loc[df.index[10:13], "dep_delay"] = "99999"
        raw.write_text(uri, df.to_csv(index=False))
        yield _validate_all(
            cfg,
            Lake(get_settings().lake_root),
            [*EDGE_DAYS, BAD_DAY, STALE_DAY],
            EXPECTATIONS / "flights_delay.json",
        )


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("diabetes"))
        cfg = load_pipeline(PIPELINES / "diabetes_progression.yaml")
        raw_root = get_settings().raw_root
        write_diabetes(raw_root, "2024-01-01")
        raw = Lake(raw_root)
        uri = raw.uri("diabetes", "2024-01-02.parquet")
        df = pd.read_parquet(io.BytesIO(raw.read_bytes(uri)))
        df.loc[df.index[:2], "age"] = 150.0
        df.loc[df.index[3], "bmi"] = float("nan")
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        raw.write_bytes(uri, buf.getvalue())
        yield _validate_all(
            cfg,
            Lake(get_settings().lake_root),
            ["2024-01-01", "2024-01-02"],
            EXPECTATIONS / "diabetes_progression.json",
        )


def _strict_json(text: str) -> Any:
    def refuse(const: str) -> Any:
        raise AssertionError(f"not strict JSON: {const}")

    return json.loads(text, parse_constant=refuse)


def _n_expectations(path: Path, cfg: PipelineConfig) -> int:
    """The suite's expectations and the ones airflow-mlops adds to every suite."""
    suite = json.loads(path.read_text())
    return len(suite["expectations"]) + len(builtin_expectations(cfg, suite))


# --- passing batches ------------------------------------------------------------------------------
@pytest.mark.parametrize("ds", EDGE_DAYS)
def test_real_flight_days_at_the_edges_pass(flights: World, ds: str) -> None:
    r = flights.results[ds]
    assert r.success, r.failure_message()
    assert r.status == "validated"
    assert r.failed == []
    assert r.evaluated == _n_expectations(flights.suite_path, flights.cfg)
    committed = flights.catalog.manifest(ds)
    assert committed is not None
    assert r.snapshot_hash == committed["content_hash"]
    assert r.failure_message() == f"flights_delay {ds}: all {r.evaluated} expectations passed"


def test_passing_day_writes_result_summary_and_docs(flights: World) -> None:
    ds = EDGE_DAYS[0]
    r = flights.results[ds]
    base = flights.catalog.validation_dir(ds)
    assert r.result_uri == f"{base}/result.json"
    assert r.summary_uri == f"{base}/summary.json"
    assert r.docs_uri == f"{base}/docs/index.html"

    result = _strict_json(flights.lake.read_bytes(r.result_uri).decode())
    assert result["success"] is True
    assert result["statistics"]["evaluated_expectations"] == r.evaluated
    assert result["suite_name"] == "flights_delay"

    summary = flights.summaries[ds]
    assert {k: summary[k] for k in r.to_dict()} == r.to_dict()
    assert summary["validated_at"].startswith("20")
    assert summary["suite"] == "flights_delay"

    index = flights.lake.read_bytes(r.docs_uri).decode()
    assert "flights_delay" in index
    assert f"ds={ds}" in index  # links to this run's validation page
    pages = flights.lake.fs.glob(flights.lake._p(f"{base}/docs/validations/flights_delay/ds={ds}/*/*.html"))
    assert len(pages) == 1
    # GX's tutorial images are not copied into every partition.
    assert not flights.lake.exists(f"{base}/docs/static/images/glossary_scroller.gif")
    assert flights.lake.exists(f"{base}/docs/static/images/favicon.ico")


def test_real_diabetes_batch_passes(diabetes: World) -> None:
    r = diabetes.results["2024-01-01"]
    assert r.success, r.failure_message()
    assert r.status == "validated"
    assert r.evaluated == _n_expectations(diabetes.suite_path, diabetes.cfg)


# --- failing batches ------------------------------------------------------------------------------
def test_corrupted_flights_are_quarantined_and_explained(flights: World) -> None:
    r = flights.results[BAD_DAY]
    assert not r.success
    assert r.status == "quarantined"
    by_column = {f["column"]: f for f in r.failed}
    assert set(by_column) == {"origin", "dep_delay"}
    assert by_column["origin"]["expectation"] == "expect_column_values_to_be_in_set"
    assert by_column["origin"]["kwargs"] == {"value_set": ["EWR", "JFK", "LGA"]}
    assert by_column["origin"]["observed"]["unexpected_count"] == 5
    assert by_column["origin"]["observed"]["examples"] == ["XXX"]
    assert by_column["dep_delay"]["expectation"] == "expect_column_values_to_be_between"
    assert by_column["dep_delay"]["observed"]["unexpected_count"] == 3
    assert by_column["dep_delay"]["observed"]["examples"] == [99999.0]

    msg = r.failure_message()
    first, *rest = msg.splitlines()
    assert first == f"flights_delay {BAD_DAY}: 2 of {r.evaluated} expectations failed:"
    origin_line = next(line for line in rest if "'origin'" in line)
    assert "expect_column_values_to_be_in_set" in origin_line
    assert "5 of" in origin_line
    assert "'XXX'" in origin_line
    delay_line = next(line for line in rest if "'dep_delay'" in line)
    assert "expect_column_values_to_be_between" in delay_line
    assert "99999" in delay_line

    assert flights.summaries[BAD_DAY]["status"] == "quarantined"
    assert flights.summaries[BAD_DAY]["success"] is False
    assert r.docs_uri is not None
    page = flights.lake.fs.glob(
        flights.lake._p(f"{flights.catalog.validation_docs_dir(BAD_DAY)}/validations/**/*.html")
    )
    assert len(page) == 1
    assert "XXX" in flights.lake.fs.cat_file(page[0]).decode()


def test_data_docs_templates_are_compiled_once_per_machine(
    diabetes: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX makes a Jinja environment per page; ours load the fixture's compiled templates."""
    import jinja2

    compiled: list[str | None] = []
    real = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: Any, name: str | None = None, *a: Any, **k: Any) -> Any:
        compiled.append(name)
        return real(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    again = validate_snapshot(diabetes.cfg, diabetes.lake, "2024-01-01", diabetes.suite_path)
    assert again.success and again.docs_uri is not None
    assert again.evaluated == diabetes.results["2024-01-01"].evaluated
    assert "diabetes" in diabetes.lake.read_bytes(again.docs_uri).decode()
    assert [n for n in compiled if n and n.endswith(".j2")] == []


def test_failing_batch_of_a_fail_pipeline_is_failed(diabetes: World) -> None:
    r = diabetes.results["2024-01-02"]
    assert r.status == "failed"
    assert {(f["expectation"], f["column"]) for f in r.failed} == {
        ("expect_column_values_to_be_between", "age"),
        ("expect_column_values_to_not_be_null", "bmi"),
    }
    assert "150.0" in r.failure_message()


# --- which batches count as validated -------------------------------------------------------------
def test_validated_batches_exclude_quarantined_and_stale(flights: World) -> None:
    assert flights.catalog.validated_batches() == sorted([*EDGE_DAYS, STALE_DAY])

    # New data for an interval that was validated: its old verdict no longer applies.
    write_flights(flights.raw_root, [STALE_DAY], sample=0.5)
    snap = ingest(flights.cfg, flights.lake, STALE_DAY)
    assert not snap.unchanged
    summary = flights.catalog.validation(STALE_DAY)
    assert summary is not None and summary["success"] is True
    assert summary["snapshot_hash"] != snap.content_hash
    assert flights.catalog.validated_batches() == sorted(EDGE_DAYS)

    # Validating the new snapshot makes it count again.
    assert validate_snapshot(flights.cfg, flights.lake, STALE_DAY, flights.suite_path).success
    assert flights.catalog.validated_batches() == sorted([*EDGE_DAYS, STALE_DAY])


def test_validation_summary_is_none_before_validation(flights: World) -> None:
    assert flights.catalog.validation("2013-06-01") is None


def test_validate_needs_an_ingested_snapshot(flights: World) -> None:
    with pytest.raises(DataNotFoundError, match="2013-06-01"):
        validate_snapshot(flights.cfg, flights.lake, "2013-06-01", flights.suite_path)


# --- a suite GX rejects ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expectation", "problem"),
    [
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "distance"}}, "expectations[0]"),
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "orign"}}, "column 'orign'"),
    ],
)
def test_suites_gx_rejects_fail_before_anything_is_written(
    flights: World, tmp_path: Path, expectation: dict[str, Any], problem: str
) -> None:
    path = tmp_path / "bad_kwargs.json"
    path.write_text(json.dumps({"name": "s", "expectations": [expectation]}))
    before = flights.catalog.validation(EDGE_DAYS[0])
    with pytest.raises(ConfigError) as e:
        validate_snapshot(flights.cfg, flights.lake, EDGE_DAYS[0], path)
    assert str(e.value).startswith(f"{path}: ")
    assert problem in str(e.value)
    assert flights.catalog.validation(EDGE_DAYS[0]) == before


# --- what every suite gets: no empty feature, no repeated rows -------------------------------------
@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Real days made odd: every row twice; a feature column empty; a column constant (legal)."""
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("odd"))
        cfg = load_pipeline(PIPELINES / "flights_delay.yaml")
        raw_root = get_settings().raw_root
        days = {"doubled": "2013-04-01", "empty": "2013-04-02", "constant": "2013-04-03"}
        write_flights(raw_root, list(days.values()))
        raw = Lake(raw_root)
        for kind, ds in days.items():
            uri = raw.uri("flights", f"{ds}.csv")
            df = pd.read_csv(io.BytesIO(raw.read_bytes(uri)), dtype=str)
            df = {
                "doubled": lambda d: pd.concat([d, d]),
                "empty": lambda d: d.assign(distance=None),
                "constant": lambda d: d.assign(origin="JFK"),
            }[kind](df)
            raw.write_text(uri, df.to_csv(index=False))
        yield _validate_all(
            cfg, Lake(get_settings().lake_root), list(days.values()), EXPECTATIONS / "flights_delay.json"
        )


def test_a_file_with_every_row_twice_is_quarantined(odd: World) -> None:
    r = odd.results["2013-04-01"]
    assert r.status == "quarantined"
    assert [f["expectation"] for f in r.failed] == ["expect_compound_columns_to_be_unique"]
    assert r.failed[0]["observed"]["unexpected_percent"] == 100.0


def test_an_empty_feature_column_is_quarantined(odd: World) -> None:
    r = odd.results["2013-04-02"]
    assert r.status == "quarantined"
    assert [(f["expectation"], f["column"]) for f in r.failed] == [
        ("expect_column_proportion_of_non_null_values_to_be_between", "distance")
    ]
    assert "observed 0.0" in r.failure_message()


def test_a_constant_column_is_legal(odd: World) -> None:
    r = odd.results["2013-04-03"]
    assert r.success, r.failure_message()


def test_row_count_bounds_per_day_scale_with_the_batch_interval(tmp_path: Path) -> None:
    """A week of flights in one batch (about 6,000 rows) is held to 250-2,000 rows per day: it
    passes when ingested for a week and fails the row count when its interval is unknown."""
    from datetime import UTC, datetime

    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path)
        cfg = load_pipeline(PIPELINES / "flights_delay.yaml")
        raw = Lake(get_settings().raw_root)
        days = [f"2013-03-0{d}" for d in range(1, 8)]
        write_flights(raw.root, days)
        week = pd.concat(
            [pd.read_csv(io.BytesIO(raw.read_bytes(raw.uri("flights", f"{d}.csv")))) for d in days]
        )
        raw.write_text(raw.uri("flights", "2013-03-01.csv"), week.to_csv(index=False))
        lake = Lake(get_settings().lake_root)
        suite = EXPECTATIONS / "flights_delay.json"

        rows = ingest(cfg, lake, "2013-03-01").rows  # no interval recorded: bounds as written, for one day
        unknown = validate_snapshot(cfg, lake, "2013-03-01", suite)
        assert not unknown.success
        assert [f["expectation"] for f in unknown.failed] == ["expect_table_row_count_to_be_between"]
        assert unknown.failed[0]["observed"] == rows > 2000

        interval = (datetime(2013, 3, 1, 5, tzinfo=UTC), datetime(2013, 3, 8, 5, tzinfo=UTC))
        snap = ingest(cfg, lake, "2013-03-01", interval=interval)
        assert Catalog(lake, cfg.name).manifest("2013-03-01")["interval"] == [  # type: ignore[index]
            t.isoformat() for t in interval
        ]
        weekly = validate_snapshot(cfg, lake, "2013-03-01", suite)
        assert weekly.success, weekly.failure_message()
        result = json.loads(lake.read_bytes(weekly.result_uri))
        (count,) = [
            r
            for r in result["results"]
            if r["expectation_config"]["type"].endswith("row_count_to_be_between")
        ]
        assert count["expectation_config"]["kwargs"] | {"batch_id": None} == {
            "min_value": 250 * 7,
            "max_value": 2000 * 7,
            "batch_id": None,
        }
        assert count["result"]["observed_value"] == snap.rows


def test_bounds_per_is_only_for_row_counts(tmp_path: Path) -> None:
    from airflow_mlops.core.data.suite import load_suite, scale_bounds

    row_count = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10, "max_value": 20}}
    path = tmp_path / "s.json"
    for exp, problem in (
        ({**row_count, "meta": {"bounds_per": "week"}}, "meta.bounds_per 'week'"),
        (
            {"type": "expect_column_to_exist", "kwargs": {"column": "late"}, "meta": {"bounds_per": "day"}},
            "only expect_table_row_count_to_be_between takes it",
        ),
    ):
        path.write_text(json.dumps({"name": "s", "expectations": [exp]}))
        with pytest.raises(ConfigError, match=r"expectations\[0\]") as e:
            load_suite(path)
        assert problem in str(e.value)
    hourly = {"name": "s", "expectations": [{**row_count, "meta": {"bounds_per": "hour"}}, row_count]}
    scaled = scale_bounds(hourly, 90 * 60.0)  # an hour and a half
    assert scaled["expectations"][0]["kwargs"] == {"min_value": 15, "max_value": 30}
    assert scaled["expectations"][1] == row_count  # not per hour: as written
    assert scale_bounds(hourly, None) == hourly


@pytest.mark.parametrize(
    ("world_name", "ds"),
    [("flights", BAD_DAY), ("flights", EDGE_DAYS[1]), ("odd", "2013-04-01"), ("odd", "2013-04-02")],
)
def test_a_snapshot_validated_in_chunks_gets_the_whole_result(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, world_name: str, ds: str
) -> None:
    """Chunks of 250 rows (a real day holds 2 to 4) merged into one result: every expectation's
    verdict, counts and observed value as GX gives them for the whole snapshot; repeated rows
    (the doubled day repeats each row about 900 rows later, in another chunk) still counted."""
    from airflow_mlops.core.data import validate

    world: World = request.getfixturevalue(world_name)
    whole = json.loads(world.lake.read_bytes(world.results[ds].result_uri))
    lake = Lake((tmp_path / "lake").as_uri())
    snap = ingest(world.cfg, lake, ds)
    monkeypatch.setattr(validate, "CHUNK_ROWS", 250)
    chunked = validate_snapshot(world.cfg, lake, ds, world.suite_path)
    merged = json.loads(lake.read_bytes(chunked.result_uri))

    assert len(merged["meta"]["chunks"]) >= 2 and sum(merged["meta"]["chunks"]) == snap.rows
    assert merged["success"] == whole["success"] == chunked.success
    for key in ("evaluated_expectations", "successful_expectations", "unsuccessful_expectations"):
        assert merged["statistics"][key] == whole["statistics"][key]
    assert len(merged["results"]) == len(whole["results"])
    for m, w in zip(merged["results"], whole["results"], strict=True):
        name = (w["expectation_config"]["type"], w["expectation_config"]["kwargs"].get("column"))
        assert m["expectation_config"]["type"] == w["expectation_config"]["type"]
        assert m["success"] == w["success"], name
        for key in (
            "element_count",
            "unexpected_count",
            "missing_count",
            "observed_value",
            "unexpected_percent",
        ):
            assert m["result"].get(key) == pytest.approx(w["result"].get(key)), (name, key)
    named = [(f["expectation"], f["column"]) for f in chunked.failed]
    assert named == [(f["expectation"], f["column"]) for f in world.results[ds].failed]
    pages = lake.fs.glob(
        lake._p(f"{Catalog(lake, world.cfg.name).validation_dir(ds)}/docs/validations/**/*.html")
    )
    assert len(pages) == 1  # one data docs page: the merged result


def test_only_expectations_whose_results_add_up_are_split() -> None:
    from airflow_mlops.core.data.gx_chunks import splittable
    from airflow_mlops.core.data.suite import load_suite

    cfg = load_pipeline(PIPELINES / "flights_delay.yaml")
    suite = load_suite(EXPECTATIONS / "flights_delay.json")
    shipped = [*suite["expectations"], *builtin_expectations(cfg, suite)]
    assert splittable(shipped)
    for other in (
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "flight"}},  # across rows
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "distance", "min_value": 1}},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["flight", "dest"]}},
    ):
        assert not splittable([*shipped, other]), other["type"]


def test_snapshot_rows_reach_gx_in_its_fast_types_with_the_same_results(flights: World) -> None:
    """Read as pandas reads it, a snapshot has nullable Int64 integers and Python-object strings,
    which GX checks one value at a time. Handed over as NumPy int64 (when they hold no null) and
    Arrow-backed strings they are checked vectorized, and every result, observed types included,
    is the same."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pyarrow as pa

    from airflow_mlops.core.data.validate import _gx_frame

    cat = flights.catalog
    day = flights.lake.read_parquet(cat.snapshot_uri(EDGE_DAYS[0], cat.committed_manifest(EDGE_DAYS[0])))
    day.loc[day.index[:4], "hour"] = 99  # out of range, in a column with no null
    day.loc[day.index[7], "sched_arr_time"] = None  # a null: this column keeps its dtype
    day.loc[day.index[5:7], "dest"] = ["xyz", None]  # a lower-case code and a missing one
    day.loc[day.index[8], "carrier"] = "ZZ"
    fast = _gx_frame(pa.Table.from_pandas(day, preserve_index=False))
    assert [str(day[c].dtype) for c in ("hour", "sched_arr_time", "dest")] == ["Int64", "Int64", "string"]
    assert [str(fast[c].dtype) for c in ("hour", "sched_arr_time")] == ["int64", "Int64"]
    assert fast["dest"].dtype == pd.StringDtype("pyarrow")

    suite = [
        gxe.ExpectColumnValuesToBeBetween(column="hour", min_value=0, max_value=23),
        gxe.ExpectColumnValuesToBeBetween(column="sched_dep_time", min_value=0, max_value=2359),
        gxe.ExpectColumnValuesToBeBetween(column="sched_arr_time", min_value=0, max_value=600),
        gxe.ExpectColumnValuesToBeOfType(column="hour", type_="int64"),
        gxe.ExpectColumnValuesToBeOfType(column="dest", type_="str"),
        gxe.ExpectColumnValuesToNotBeNull(column="sched_arr_time"),
        gxe.ExpectColumnValuesToNotBeNull(column="dest"),
        gxe.ExpectColumnValuesToMatchRegex(column="dest", regex="^[A-Z]{3}$"),
        gxe.ExpectColumnValuesToBeInSet(column="carrier", value_set=sorted(set(day["carrier"]) - {"ZZ"})),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["carrier", "flight", "dest"], ignore_row_if="never"),
    ]
    ctx = gx.get_context(mode="ephemeral")
    batch = (
        ctx.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
    )

    def run(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
        found = batch.get_batch(batch_parameters={"dataframe": frame}).validate(
            gx.ExpectationSuite("s", expectations=[e.copy() for e in suite]), result_format="SUMMARY"
        )
        kw = [r.expectation_config.kwargs for r in found.results]
        return {
            (r.expectation_config.type, str(k.get("column", k.get("column_list")))): {
                "success": r.success,
                **r.result,
            }
            for r, k in zip(found.results, kw, strict=True)
        }

    before, after = run(day), run(fast)
    failed = sorted(
        k[0].removeprefix("expect_column_values_to_") + " " + k[1]
        for k, r in before.items()
        if not r["success"]
    )
    assert failed == [
        "be_between hour",
        "be_between sched_arr_time",
        "be_in_set carrier",
        "match_regex dest",
        "not_be_null dest",
        "not_be_null sched_arr_time",
    ]
    between = before[("expect_column_values_to_be_between", "hour")]
    assert between["partial_unexpected_list"] == [99] * 4
    assert before[("expect_column_values_to_match_regex", "dest")]["partial_unexpected_list"] == ["xyz"]
    assert before[("expect_column_values_to_be_of_type", "dest")]["observed_value"] == "str"
    assert len(before) == len(suite) and after == before
