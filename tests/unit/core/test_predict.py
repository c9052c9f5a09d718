"""Scoring with the champion, and which intervals a monitor run scores."""

from __future__ import annotations

import pytest

from airflow_mlops.core.errors import NoChampionError
from airflow_mlops.core.predict import batches_to_score, score_batch
from tests.unit.conftest import JAN, JUL, World

pytestmark = pytest.mark.unit


def test_no_champion_means_nothing_to_score(world: World) -> None:
    with pytest.raises(NoChampionError, match="no version has the 'champion' alias"):
        score_batch(world.cfg, world.lake, world.client, JAN[0])
    with pytest.raises(NoChampionError, match=r"\['2013-07-08'\] not scored"):
        batches_to_score(world.cfg, world.lake, world.client, [JUL])


def test_the_champion_scores_a_batch(world: World) -> None:
    version = world.champion()
    res = score_batch(world.cfg, world.lake, world.client, JUL)
    assert res.model_version == version and res.predictions_uri == world.catalog.predictions_uri(JUL)
    scored = world.lake.read_parquet(res.predictions_uri)
    assert res.rows == len(scored) == len(world.catalog.read_snapshot(JUL))
    assert set(scored["model_version"]) == {version}
    assert scored["probability"].between(0, 1).all()
    assert res.mean_probability == pytest.approx(float(scored["probability"].mean()))
    assert scored["prediction"].tolist() == (scored["probability"] >= 0.5).tolist()


def test_a_monitor_run_scores_what_it_was_asked_and_catches_up(world: World) -> None:
    world.champion()
    with pytest.raises(ValueError, match="no interval to score"):
        batches_to_score(world.cfg, world.lake, world.client, [])
    score_batch(world.cfg, world.lake, world.client, JAN[3])
    score_batch(world.cfg, world.lake, world.client, JUL)
    # JAN[4..7] are validated and newer than JAN[3], but older than the newest scored batch.
    assert batches_to_score(world.cfg, world.lake, world.client, [JAN[0]]) == [JAN[0]]
    world.lake.remove(world.catalog.predictions_uri(JUL))
    assert batches_to_score(world.cfg, world.lake, world.client, [JAN[0]]) == [JAN[0], *JAN[4:], JUL]
