"""A batch that did not pass validation never drives the loop: scoring and monitoring refuse it,
naming it and its status, and status, the view and the model card never show its drift as the
pipeline's. Each kind of "not validated" is a real batch of the flights world, made as it happens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.validate import validate_snapshot
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.errors import DataContractError, DataNotFoundError, NotValidatedError
from airflow_mlops.core.monitor import drift
from airflow_mlops.core.monitor.predict import score_batch, score_file
from airflow_mlops.operators import BatchPredictOperator, DriftReportOperator
from airflow_mlops.operators.predict import intervals_to_score
from dev.datasets import write_flights
from tests.unit.conftest import JUL, World, world_copy
from tests.unit.operators.conftest import alias_events, make_context

pytestmark = pytest.mark.unit

QUARANTINED, FAILED, UNVALIDATED, STALE, REFUSED, ABSENT, RESCORED = (f"2013-08-0{i}" for i in range(1, 8))
#: Each kind of batch that did not pass validation, and the words its status starts with.
STATES = {
    QUARANTINED: "quarantined by validation (",
    FAILED: "failed by validation (",
    UNVALIDATED: "never validated",
    STALE: "not validated: its validation was of snapshot",
    REFUSED: "quarantined at ingest (",
    ABSENT: "never ingested",
}


def _spoil(raw: Path, ds: str, origins: int = 5) -> None:
    """Five flights of ``ds`` from an airport the suite does not know (a well-typed bad delivery)."""
    path = raw / "flights" / f"{ds}.csv"
    df = pd.read_csv(path, dtype=str)
    df.loc[df.index[:origins], "origin"] = "XXX"
    df.to_csv(path, index=False)


@pytest.fixture(scope="module")
def states(flights_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A copy of the flights world with a batch in each state of ``STATES`` and a validated one
    (``RESCORED``) that later tests re-ingest."""
    with world_copy(flights_home, tmp_path_factory, "states") as world:
        home, cfg, lake = world.home, world.cfg, world.lake
        raw = home / "raw"
        write_flights(raw.as_uri(), [QUARANTINED, FAILED, UNVALIDATED, STALE, RESCORED])
        _spoil(raw, QUARANTINED)
        _spoil(raw, FAILED)
        for ds in (QUARANTINED, FAILED, UNVALIDATED, STALE, RESCORED):
            ingest(cfg, lake, ds)
        failing = cfg.model_copy(
            update={"validation": cfg.validation.model_copy(update={"on_failure": "fail"})}
        )
        assert validate_snapshot(cfg, lake, QUARANTINED).status == "quarantined"
        assert validate_snapshot(failing, lake, FAILED).status == "failed"
        assert validate_snapshot(cfg, lake, STALE).success
        assert validate_snapshot(cfg, lake, RESCORED).success
        # Re-delivered with fewer rows after it passed: the verdict is of another snapshot.
        path = raw / "flights" / f"{STALE}.csv"
        pd.read_csv(path, dtype=str).iloc[:-10].to_csv(path, index=False)
        ingest(cfg, lake, STALE)
        (raw / "flights" / f"{REFUSED}.csv").write_text("")
        with pytest.raises(DataContractError, match="empty"):
            ingest(cfg, lake, REFUSED)
        yield world


def _files(world: World, ds: str) -> dict[str, bytes]:
    """Every file of a partition's predictions and drift folders, with its bytes."""
    root = Path(world.lake._p(world.catalog.partition(ds)))
    return {
        str(p.relative_to(root)): p.read_bytes()
        for sub in ("predictions", "drift")
        for p in sorted((root / sub).rglob("*"))
        if p.is_file()
    }


def test_the_catalog_says_why_each_kind_of_batch_is_not_validated(states: World) -> None:
    cat = states.catalog
    for ds, words in STATES.items():
        why = cat.why_not_validated(ds)
        assert why is not None and why.startswith(words), (ds, why)
        assert not cat.is_validated(ds) and ds not in cat.validated_batches()
    assert cat.why_not_validated(JUL) is None and cat.why_not_validated(RESCORED) is None
    assert "the file is empty" in str(cat.why_not_validated(REFUSED))
    assert "failed on origin)" in str(cat.why_not_validated(QUARANTINED))


@pytest.mark.parametrize("ds", sorted(STATES))
def test_scoring_refuses_a_batch_that_did_not_pass_validation(states: World, ds: str) -> None:
    states.champion()
    before = _files(states, ds)
    with pytest.raises(NotValidatedError) as got:
        score_batch(states.cfg, states.lake, states.client, ds)
    message = str(got.value)
    assert f"flights_delay interval {ds} (snapshot " in message and STATES[ds] in message
    assert "refused to score it" in message
    snapshot = states.catalog.manifest(ds)
    assert (snapshot["data"] if snapshot else f"ds={ds}") in message
    assert (got.value.pipeline, got.value.ds) == ("flights_delay", ds)
    assert got.value.status.startswith(STATES[ds])
    assert _files(states, ds) == before  # nothing written


@pytest.mark.parametrize("ds", sorted(STATES))
def test_monitoring_refuses_it_even_when_predictions_were_forced_into_the_lake(
    states: World, ds: str
) -> None:
    """As the monitor did before: the champion's predictions of the batch are in its partition."""
    from airflow_mlops.core.foundation import registry

    version = states.champion()
    cat = states.catalog
    m = cat.manifest(ds)
    if m is not None:  # what the old score_batch wrote for it
        model = registry.load_model(states.cfg, states.client, version)
        score_file(states.cfg, model, states.lake, cat.snapshot_uri(ds, m), cat.predictions_uri(ds), version)
    before = _files(states, ds)
    with pytest.raises(NotValidatedError, match=rf"interval {ds} .*refused to monitor its drift"):
        drift.monitor_batch(states.cfg, states.lake, states.client, ds, run_key="m/forced")
    assert _files(states, ds) == before


@pytest.mark.parametrize("ds", [QUARANTINED, FAILED, UNVALIDATED, STALE, REFUSED])
def test_the_monitor_run_refuses_a_forced_ds_and_an_event_alike(states: World, ds: str) -> None:
    states.champion()
    forced = make_context("flights_delay__monitor", params={"ds": [JUL, ds]}, declared=("ds",))
    with pytest.raises(AirflowFailException, match=rf"NotValidatedError.*interval {ds} .*is ") as got:
        intervals_to_score(states.cfg, forced)
    assert JUL not in str(got.value)  # the validated one is not blamed
    events = {"flights_delay.validated": [SimpleNamespace(extra={"ds": ds})]}
    evented = make_context("flights_delay__monitor", triggering_asset_events=events, declared=("ds",))
    with pytest.raises(AirflowFailException, match=rf"interval {ds} "):
        intervals_to_score(states.cfg, evented)


def test_the_operators_fail_at_once_and_emit_nothing(states: World) -> None:
    from airflow.sdk import Asset, AssetAlias

    states.champion()
    with pytest.raises(
        AirflowFailException, match=rf"permanent, not retried\): flights_delay interval {QUARANTINED}"
    ):
        BatchPredictOperator(task_id="predict", pipeline="flights_delay", ds=QUARANTINED).execute(
            make_context()
        )
    context = make_context()
    op = DriftReportOperator(
        task_id="drift_report",
        pipeline="flights_delay",
        ds=FAILED,
        asset=Asset(name="flights_delay.drift", group="mlops"),
        outlets=[AssetAlias(name="flights_delay.drift-alias")],
    )
    with pytest.raises(AirflowFailException, match=rf"interval {FAILED} .*failed by validation"):
        op.execute(context)
    assert alias_events(context) == []


def test_predictions_of_an_earlier_snapshot_are_not_monitored(states: World) -> None:
    states.champion()
    score_batch(states.cfg, states.lake, states.client, RESCORED)
    path = states.home / "raw" / "flights" / f"{RESCORED}.csv"
    pd.read_csv(path, dtype=str).iloc[:-7].to_csv(path, index=False)
    ingest(states.cfg, states.lake, RESCORED)
    assert validate_snapshot(states.cfg, states.lake, RESCORED).success
    with pytest.raises(DataNotFoundError, match=r"were made from snapshot .*not from the one committed now"):
        drift.monitor_batch(states.cfg, states.lake, states.client, RESCORED, run_key="m/r")
    assert states.catalog.drift(RESCORED) is None


def test_status_the_view_and_the_card_never_show_a_refused_batchs_drift_as_the_pipelines(
    states: World,
) -> None:
    """The issue's case: drift of a quarantined batch written by an earlier release (or by hand)."""
    from airflow_mlops.cli import render_status
    from airflow_mlops.core.foundation import registry
    from airflow_mlops.core.foundation.registry import Tag
    from airflow_mlops.core.model.approve import _drift_since
    from airflow_mlops.core.presentation.status import pipeline_detail, pipeline_status
    from airflow_mlops.plugin import pages

    cfg, lake, client = states.cfg, states.lake, states.client
    version = states.champion()
    score_batch(cfg, lake, client, JUL)
    counted = drift.monitor_batch(cfg, lake, client, JUL, run_key="m/jul")
    current = lake.read_parquet(Catalog(lake, cfg.name).predictions_uri(JUL))
    mv = client.get_model_version(cfg.registered_model_name, version)
    reference = lake.read_parquet(registry.tags_of(mv)[Tag.REFERENCE_URI])
    for ds in (QUARANTINED, UNVALIDATED):  # newer than JUL, both with a drift record of their own
        drift.drift_report(cfg, lake, ds, current, reference, version)

    status = pipeline_status(cfg, lake, client)
    assert status["drift"]["ds"] == JUL and status["drift"]["drift_share"] == counted["drift_share"]
    assert [(u["ds"], u["why"][:16]) for u in status["drift_not_counted"]] == [
        (UNVALIDATED, "never validated"),
        (QUARANTINED, "quarantined by v"),
    ]
    text = render_status([status])
    assert f"last drift:      {JUL}" in text
    assert f"not counted:     {QUARANTINED}" in text and "batch quarantined by validation" in text

    detail = pipeline_detail(cfg, lake, client)
    by_ds = {b["ds"]: b for b in detail["batches"]}
    assert by_ds[QUARANTINED]["drift"] is None and by_ds[UNVALIDATED]["drift"] is None
    assert by_ds[QUARANTINED]["drift_not_counted"]["why"].startswith(STATES[QUARANTINED])
    assert by_ds[JUL]["drift"]["ds"] == JUL and by_ds[JUL]["drift_not_counted"] is None
    overview = pages.overview([status], "/mlops", [])
    assert "not counted" in overview and f"{JUL}: " in overview
    table = pages.batches_table(detail["batches"], "/mlops/pipelines/flights_delay")
    assert table.count("not counted") == 2
    latest = pages.latest_drift(detail["batches"], "/mlops/pipelines/flights_delay")
    assert f"Drift of the latest batch, {JUL}" in latest

    line = _drift_since(cfg, lake, version)
    assert "of 1 monitored batches drifted" in line and f"the latest, {JUL}," in line
