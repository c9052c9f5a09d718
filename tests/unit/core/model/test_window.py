"""The training window knows which intervals it should hold: lost data is never a smaller window.

Each test works on its own copy of the flights lake (eight January days, ingested and validated,
so each has its commit in the ledger) and changes it the way the world would: a partition folder
deleted, a manifest deleted, a batch quarantined, a day that never arrived.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_mlops.core.data import commits
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.errors import DataNotFoundError, VanishedDataError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.model.window import plan_window, scheduled
from tests.conftest import PIPELINES
from tests.unit.conftest import JAN, JUL, isolate

pytestmark = pytest.mark.unit


@pytest.fixture
def lake_copy(flights_home: Path, tmp_path: Path) -> Iterator[tuple[PipelineConfig, Catalog]]:
    shutil.copytree(flights_home / "lake", tmp_path / "lake")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, tmp_path)
        cfg = load_pipeline(PIPELINES / "flights_delay.yaml")
        yield cfg, Catalog(Lake((tmp_path / "lake").as_uri()), cfg.name)


def _skip(cfg: PipelineConfig, how: str | None = "skip") -> PipelineConfig:
    return cfg.model_copy(update={"split": cfg.split.model_copy(update={"on_vanished": how})})


def _rm_partition(cat: Catalog, ds: str) -> None:
    shutil.rmtree(cat.lake._p(cat.partition(ds)))


def _rm_manifest(cat: Catalog, ds: str) -> None:
    Path(cat.lake._p(cat.manifest_uri(ds))).unlink()


def test_an_intact_lake_uses_every_interval_and_says_so(lake_copy) -> None:
    cfg, cat = lake_copy
    plan = plan_window(cfg, cat, 8, JAN[-1])
    assert plan.used == JAN and plan.left_out() == {} and "nothing left out" in plan.summary()
    assert commits.committed(cat)[: len(JAN)] == JAN


@pytest.mark.parametrize(
    ("gone", "how", "end"),
    [
        ([JAN[3]], _rm_partition, JAN[-1]),  # a folder in the middle: data and manifest
        ([JAN[-1]], _rm_partition, JAN[-1]),  # the last day of an end_date window
        ([JUL], _rm_partition, None),  # the newest of all: the window must not just end earlier
        ([JAN[0], JAN[5]], _rm_partition, JAN[-1]),  # several
        ([JAN[2]], _rm_manifest, JAN[-1]),  # the manifest only (the data file is still there)
    ],
    ids=["middle folder", "last of end_date", "newest of all", "two folders", "manifest only"],
)
@pytest.mark.parametrize("setting", [None, "fail"])
def test_a_committed_interval_that_vanished_is_an_error_naming_it(lake_copy, gone, how, end, setting) -> None:
    cfg, cat = lake_copy
    for ds in gone:
        how(cat, ds)
    with pytest.raises(VanishedDataError) as e:
        plan_window(_skip(cfg, setting), cat, 8, end)
    msg = str(e.value)
    assert f"lost {len(gone)} interval(s)" in msg and "split.on_vanished: skip" in msg
    for ds in gone:
        assert f"{ds} (committed 20" in msg
    for ds in {*JAN, JUL} - set(gone):
        assert f"{ds} (" not in msg


def test_skip_trains_without_the_vanished_intervals_and_records_them(lake_copy) -> None:
    cfg, cat = lake_copy
    _rm_partition(cat, JAN[3])
    _rm_manifest(cat, JAN[6])
    plan = plan_window(_skip(cfg), cat, 8, JAN[-1])
    assert plan.used == [d for d in JAN if d not in (JAN[3], JAN[6])]
    assert plan.left_out() == {"vanished": [JAN[3], JAN[6]]}
    assert f"{JAN[3]} vanished" in plan.summary() and f"{JAN[6]} vanished" in plan.summary()


def _fail_validation(cat: Catalog, ds: str, status: str) -> None:
    summary = cat.validation(ds)
    assert summary is not None
    cat.lake.write_json(cat.validation_summary_uri(ds), {**summary, "success": False, "status": status})


def test_quarantined_and_refused_intervals_are_left_out_with_why(lake_copy) -> None:
    cfg, cat = lake_copy
    _fail_validation(cat, JAN[1], "quarantined")
    _fail_validation(cat, JAN[4], "failed")
    # A day ingest refused (never committed): only its quarantine record exists.
    cat.lake.write_json(f"{cat.quarantine_dir('2013-01-10')}/reason.json", {"reason": "ragged row"})
    plan = plan_window(cfg, cat, 9, "2013-01-10")
    assert plan.used == [d for d in JAN if d not in (JAN[1], JAN[4])]
    assert plan.quarantined == {
        JAN[1]: "validation quarantined",
        JAN[4]: "validation failed",
        "2013-01-10": "refused at ingest",
    }
    assert plan.vanished == [] and f"{JAN[1]} quarantined (validation quarantined)" in plan.summary()


def test_a_committed_but_not_yet_validated_interval_is_left_out(lake_copy) -> None:
    cfg, cat = lake_copy
    Path(cat.lake._p(cat.validation_summary_uri(JAN[2]))).unlink()
    plan = plan_window(cfg, cat, 8, JAN[-1])
    assert plan.unvalidated == [JAN[2]] and JAN[2] not in plan.used


def test_days_the_schedule_expected_that_never_arrived_are_missing_not_vanished(lake_copy) -> None:
    """JAN starts on 2013-01-02; the schedule starts on 2013-01-01: a 12-day window up to
    2013-01-09 expects 2013-01-01 (it never arrived), but not 2012-12-29..31 (before the start)."""
    cfg, cat = lake_copy
    plan = plan_window(cfg, cat, 12, JAN[-1])
    assert plan.used == JAN and plan.missing == ["2013-01-01"]
    assert plan.left_out() == {"missing": ["2013-01-01"]}


@pytest.mark.parametrize(
    ("cron", "days"),
    [
        ("@daily", ["2013-01-01", "2013-01-02", "2013-01-03"]),
        ("0 6 * * *", ["2013-01-01", "2013-01-02", "2013-01-03"]),
        ("@weekly", []),  # 2013-01-06 is the first Sunday
        ("0 0 * * 2", ["2013-01-01"]),  # Tuesdays
        ("@monthly", ["2013-01-01"]),
    ],
)
def test_the_schedule_says_which_intervals_a_window_should_hold(
    cfg: PipelineConfig, cron: str, days: list[str]
) -> None:
    from datetime import date

    cfg = cfg.model_copy(update={"schedules": cfg.schedules.model_copy(update={"ingest": cron})})
    assert scheduled(cfg, date(2012, 12, 25), date(2013, 1, 3)) == days


def test_nothing_left_at_all_names_the_window_and_what_was_left_out(lake_copy) -> None:
    cfg, cat = lake_copy
    for ds in JAN[1:3]:
        _fail_validation(cat, ds, "quarantined")
    with pytest.raises(
        DataNotFoundError, match=r"no validated batches in 2013-01-03..2013-01-04; the newest"
    ) as e:
        plan_window(cfg, cat, 2, JAN[2])
    assert f"{JAN[1]} quarantined (validation quarantined)" in str(e.value) and "is 2013-01-02" in str(
        e.value
    )
    _fail_validation(cat, JAN[0], "failed")
    with pytest.raises(DataNotFoundError, match=r"no validated batches up to 2013-01-04 in ") as e:
        plan_window(cfg, cat, 3, JAN[2])
    assert f"{JAN[0]} quarantined (validation failed)" in str(e.value) and f"{JAN[2]} quarantined" in str(
        e.value
    )


def test_the_ledger_is_append_only_and_outside_the_partitions(lake_copy) -> None:
    _, cat = lake_copy
    before = commits.history(cat, JAN[0])
    assert len(before) == 1 and before[0]["content_hash"] == cat.manifest(JAN[0])["content_hash"]
    assert not cat.commits_root.startswith(cat.batches_dir)
    uri = commits.record(cat, JAN[0], cat.manifest(JAN[0]))
    assert len(commits.history(cat, JAN[0])) == 2
    assert not cat.lake.create_exclusive(uri, b"{}"), "an entry is never overwritten"
    assert json.loads(cat.lake.read_bytes(uri))["ds"] == JAN[0]


def test_training_records_what_its_window_left_out_and_refuses_a_vanished_interval(
    lake_copy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from airflow_mlops.core.foundation import registry, tracking
    from airflow_mlops.core.foundation.registry import Tag
    from airflow_mlops.core.model import model_card
    from airflow_mlops.core.model.train import train

    cfg, cat = lake_copy
    client = tracking.configure(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    _rm_partition(cat, JAN[3])
    _fail_validation(cat, JAN[5], "quarantined")
    with pytest.raises(VanishedDataError, match=JAN[3]):
        train(cfg, cat.lake, client, run_key="t/fail", end_ds=JAN[-1])
    assert registry.ModelRegistry(client, cfg.registered_model_name).versions() == []

    with caplog.at_level(logging.INFO, logger="airflow_mlops.core.model.window"):
        res = train(_skip(cfg), cat.lake, client, run_key="t/skip", end_ds=JAN[-1])
    assert res.window == [d for d in JAN if d not in (JAN[3], JAN[5])]
    assert res.to_dict()["left_out"]["vanished"] == [JAN[3]], "the task's XCom says it too"
    assert (
        f"{JAN[3]} vanished" in caplog.text
        and f"{JAN[5]} quarantined (validation quarantined)" in caplog.text
    )
    tags = registry.tags_of(client.get_model_version(cfg.registered_model_name, str(res.version)))
    assert json.loads(tags[Tag.LEFT_OUT]) == {
        "missing": ["2013-01-01"],  # the 14-day window starts before the data, on the schedule's first day
        "quarantined": {JAN[5]: "validation quarantined"},
        "vanished": [JAN[3]],
    }
    card = model_card.read_card(client, cfg.registered_model_name, str(res.version))
    assert card is not None
    assert f"missing: 2013-01-01; quarantined: {JAN[5]} (validation quarantined); vanished: {JAN[3]}" in card
