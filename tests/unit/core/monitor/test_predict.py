"""Scoring with the champion, and which intervals a monitor run scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.errors import NoChampionError
from airflow_mlops.core.model.modeling import features_frame, with_predictions
from airflow_mlops.core.monitor.predict import batches_to_score, score_batch, score_file
from tests.unit.conftest import JAN, JUL, World

pytestmark = pytest.mark.unit


def test_no_champion_means_nothing_to_score(fresh_world: World) -> None:
    w = fresh_world
    with pytest.raises(NoChampionError, match="no version has the 'champion' alias"):
        score_batch(w.cfg, w.lake, w.client, JAN[0])
    with pytest.raises(NoChampionError, match=r"\['2013-07-08'\] not scored"):
        batches_to_score(w.cfg, w.lake, w.client, [JUL])


def test_the_champion_scores_a_batch(world: World) -> None:
    version = world.champion()
    res = score_batch(world.cfg, world.lake, world.client, JUL)
    assert res.model_version == version and res.predictions_uri == world.catalog.predictions_uri(JUL)
    scored = world.lake.read_parquet(res.predictions_uri)
    assert res.rows == len(scored) == len(world.catalog.lake.read_parquet(world.catalog.snapshot_uri(JUL)))
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


class _Counting:
    """The real champion, counting the rows each method is asked to score."""

    def __init__(self, model: Any, fail_on_call: int | None = None) -> None:
        self.model, self.fail_on_call = model, fail_on_call
        self.classes_ = model.classes_
        self.rows: dict[str, int] = {"predict": 0, "predict_proba": 0}
        self.calls = 0

    def predict(self, X: Any) -> Any:
        self.rows["predict"] += len(X)
        return self.model.predict(X)

    def predict_proba(self, X: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise MemoryError(f"chunk {self.calls}")
        self.rows["predict_proba"] += len(X)
        return self.model.predict_proba(X)


def _champion_model(world: World) -> tuple[str, Any]:
    version = world.champion()
    return version, registry.load_model(world.cfg, world.client, version)


def test_scoring_in_chunks_gives_what_scoring_the_whole_batch_gives_and_predicts_each_row_once(
    world: World,
) -> None:
    version, model = _champion_model(world)
    snapshot = world.catalog.lake.read_parquet(world.catalog.snapshot_uri(JUL))
    whole = with_predictions(world.cfg, model, snapshot)
    counting = _Counting(model)
    out_uri = world.catalog.predictions_uri(JUL)
    totals = score_file(
        world.cfg, counting, world.lake, world.catalog.snapshot_uri(JUL), out_uri, version, 97
    )
    assert counting.rows == {"predict": 0, "predict_proba": len(snapshot)}
    assert counting.calls == -(-len(snapshot) // 97) > 5
    chunked = world.lake.read_parquet(out_uri)
    expected = whole[list(chunked.columns[:-3])].assign(
        prediction=whole["prediction"], probability=whole["probability"], model_version=version
    )
    pd.testing.assert_frame_equal(chunked, expected)
    assert totals.rows == len(snapshot)
    assert totals.probability == pytest.approx(float(whole["probability"].sum()))
    # One pass predicts what scikit-learn's own predict does.
    assert (model.predict(features_frame(world.cfg, snapshot)) == chunked["prediction"]).all()


def test_a_chunk_that_fails_leaves_the_previous_predictions_whole(world: World) -> None:
    version, model = _champion_model(world)
    res = score_batch(world.cfg, world.lake, world.client, JUL)
    before = world.lake.read_bytes(res.predictions_uri)
    folder = Path(world.lake._p(res.predictions_uri)).parent
    listing = sorted(p.name for p in folder.iterdir())
    with pytest.raises(MemoryError, match="chunk 3"):
        score_file(
            world.cfg, _Counting(model, fail_on_call=3), world.lake, world.catalog.snapshot_uri(JUL),
            res.predictions_uri, version, 97,
        )  # fmt: skip
    assert world.lake.read_bytes(res.predictions_uri) == before
    assert sorted(p.name for p in folder.iterdir()) == listing  # no staged file left behind


def test_features_are_float64_and_strings_whatever_the_column_types(world: World) -> None:
    """Nullable and NumPy numbers become float64 with NaN for NA and infinities; text, numbers and
    NA in a categorical column become strings, NA as the model's MISSING category."""
    import numpy as np
    import pandas as pd

    from airflow_mlops.core.model.modeling import MISSING

    cfg = world.cfg.model_copy(
        update={
            "features": world.cfg.features.model_copy(
                update={"numeric": ["a", "b"], "categorical": ["c", "d"]}
            )
        }
    )
    df = pd.DataFrame(
        {
            "c": pd.array(["JFK", None, "LGA"], dtype="string"),
            "a": pd.array([1, None, 3], dtype="Int64"),
            "b": [np.inf, -np.inf, 2.5],
            "d": pd.array([7, None, 9], dtype="Int64"),
            "other": [1, 2, 3],
        },
        index=[10, 11, 12],
    )
    out = features_frame(cfg, df)
    assert list(out.columns) == ["a", "b", "c", "d"] and list(out.index) == [10, 11, 12]
    assert [str(t) for t in out.dtypes] == ["float64", "float64", "object", "object"]
    assert out["a"].tolist()[::2] == [1.0, 3.0] and out["a"].isna().tolist() == [False, True, False]
    assert out["b"].isna().tolist() == [True, True, False] and out["b"].iloc[2] == 2.5
    assert out["c"].tolist() == ["JFK", MISSING, "LGA"]
    assert out["d"].tolist() == ["7", MISSING, "9"]
    assert df["b"].iloc[0] == np.inf  # the caller's frame is left as it was
