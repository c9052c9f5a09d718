"""The gate compares candidate and champion only on rows neither was fit on.

Each case trains real models on real January flights (and one July day) with windows that overlap
the champion's in a different way, then checks the decision against what the test computes on its
own from the snapshots: which intervals each model was fit on (the time split redone here), which
held-out intervals had to be left out, which later batches were added, how many rows remained, and
both scores on exactly those rows (scikit-learn's roc_auc on each model's probabilities).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.card_markdown import card_markdown
from airflow_mlops.core.model.modeling import features_frame
from airflow_mlops.core.model.promote import PromotionDecision, promote
from airflow_mlops.core.model.train import train
from tests.unit.conftest import JAN, JUL, World, isolate

pytestmark = pytest.mark.unit


@pytest.fixture
def fresh(world: World, tmp_path: Path) -> Iterator[World]:
    """The module's lake with a registry of the test's own: each case starts without a champion."""
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, world.home)
        yield World(world.home, world.cfg, world.lake, f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}")


def _window(world: World, end: str, days: int) -> list[str]:
    start = (date.fromisoformat(end) - timedelta(days=days - 1)).isoformat()
    return [ds for ds in world.catalog.validated_batches() if start <= ds <= end]


def _labelled(world: World, ds: str) -> pd.DataFrame:
    df = world.catalog.lake.read_parquet(world.catalog.snapshot_uri(ds))
    df = df[df["late"].notna()].copy()
    df["day"] = ds
    return df


def _split(world: World, cfg: PipelineConfig, window: list[str]) -> tuple[list[str], pd.DataFrame]:
    """The time split redone here: the days any fitted row came from, and the held-out rows."""
    rows = pd.concat([_labelled(world, ds) for ds in window], ignore_index=True)
    rows = rows.sort_values("time_hour", kind="stable").reset_index(drop=True)
    cut = int(len(rows) * (1 - cfg.split.test_fraction))
    return sorted(set(rows["day"].iloc[:cut])), rows.iloc[cut:]


def _roc_auc(world: World, cfg: PipelineConfig, version: str, rows: pd.DataFrame) -> float:
    from sklearn.metrics import roc_auc_score

    model = registry.load_model(cfg, world.client, version)
    proba = model.predict_proba(features_frame(cfg, rows))[:, 1]
    return float(roc_auc_score(rows["late"].astype(int), proba))


def _trained(world: World, cfg: PipelineConfig, key: str, end: str, days: int) -> str:
    version = train(
        cfg, world.lake, world.client, run_key=key, end_ds=end, window_days=days, force=True
    ).version
    assert version is not None
    return version


def _champion(world: World, cfg: PipelineConfig, end: str, days: int) -> str:
    version = _trained(world, cfg, "unseen/champion", end, days)
    assert promote(cfg, world.lake, world.client, version).promoted
    return version


def _expected(
    world: World, cfg: PipelineConfig, champion: tuple[str, int], candidate: tuple[str, int]
) -> tuple[list[str], list[str], list[str], pd.DataFrame]:
    """(excluded, added, compared intervals, compared rows) computed from the snapshots alone."""
    seen, _ = _split(world, cfg, _window(world, *champion))
    window = _window(world, *candidate)
    _, held = _split(world, cfg, window)
    excluded = sorted(set(held["day"]) & set(seen))
    kept = held[~held["day"].isin(seen)]
    later = [ds for ds in world.catalog.validated_batches() if ds > window[-1] and ds not in seen]
    added = later[: len(window)]
    rows = pd.concat([kept, *(_labelled(world, ds) for ds in added)], ignore_index=True)
    return excluded, added, sorted(set(rows["day"])), rows


def _check(world: World, cfg: PipelineConfig, d: PromotionDecision, champion: str, candidate: str,
           expected: tuple[list[str], list[str], list[str], pd.DataFrame]) -> None:  # fmt: skip
    excluded, added, intervals, rows = expected
    assert d.champion_version == champion
    assert json.loads(d.excluded_intervals) == excluded
    assert json.loads(d.added_intervals) == added
    assert json.loads(d.compared_intervals) == intervals
    assert d.compared_rows == len(rows)
    assert d.champion_score == pytest.approx(_roc_auc(world, cfg, champion, rows), abs=1e-12)
    assert d.candidate_score == pytest.approx(_roc_auc(world, cfg, candidate, rows), abs=1e-12)
    assert "that neither model was fit on" in d.reason and f"on {len(rows)} rows of" in d.reason, d.reason
    if excluded:
        assert f"champion v{champion} was fit on them" in d.reason and excluded[0] in d.reason
    tags = registry.tags_of(world.client.get_model_version(cfg.registered_model_name, candidate))
    assert tags[f"{Tag.PROMOTION_PREFIX}compared_rows"] == str(len(rows))
    assert json.loads(tags[f"{Tag.PROMOTION_PREFIX}excluded_intervals"]) == excluded
    card = card_markdown(cfg, tags, [], "refused", version=candidate)
    assert f"| Compared on | {len(rows)} labelled rows of {', '.join(intervals)} |" in card, card
    assert f"| Left out (the champion was fit on them) | {', '.join(excluded) or 'none'} |" in card


# (champion window end, days), (candidate window end, days)
OVERLAPS = {
    "candidate inside the champion's window": ((JAN[-1], 8), (JAN[4], 3)),
    "candidate earlier than the champion's window": ((JAN[-1], 4), (JAN[3], 3)),
    "candidate later than the champion's window": ((JAN[3], 4), (JAN[-1], 4)),
    "candidate's window overlapping the champion's end": ((JAN[5], 4), (JAN[-1], 5)),
}


@pytest.mark.parametrize("case", sorted(OVERLAPS))
def test_the_comparison_leaves_out_every_interval_the_champion_was_fit_on(fresh: World, case: str) -> None:
    champion_window, candidate_window = OVERLAPS[case]
    cfg = fresh.cfg
    champion = _champion(fresh, cfg, *champion_window)
    seen, _ = _split(fresh, cfg, _window(fresh, *champion_window))
    tags = registry.tags_of(fresh.client.get_model_version(cfg.registered_model_name, champion))
    assert json.loads(tags[Tag.TRAINED_INTERVALS]) == seen, "the version records what it was fit on"

    candidate = _trained(fresh, cfg, "unseen/candidate", *candidate_window)
    d = promote(cfg, fresh.lake, fresh.client, candidate)
    expected = _expected(fresh, cfg, champion_window, candidate_window)
    assert expected[3]["day"].isin(seen).sum() == 0, "the test's own rows are unseen by the champion"
    _check(fresh, cfg, d, champion, candidate, expected)
    if case == "candidate inside the champion's window":
        assert expected[0], "the candidate's held-out day is one the champion learnt from"


def test_a_champion_fit_on_everything_the_candidate_held_out_is_kept_and_says_why(fresh: World) -> None:
    """Fit on every day there is (a 5% holdout cut inside July): no row is left that it did not see."""
    cfg = fresh.cfg
    greedy = cfg.model_copy(update={"split": cfg.split.model_copy(update={"test_fraction": 0.05})})
    champion = _trained(fresh, greedy, "unseen/greedy", JUL, 365)
    assert promote(cfg, fresh.lake, fresh.client, champion).promoted
    seen, _ = _split(fresh, greedy, _window(fresh, JUL, 365))
    assert seen == sorted([*JAN, JUL])
    candidate = _trained(fresh, cfg, "unseen/late", JAN[-1], 3)
    d = promote(cfg, fresh.lake, fresh.client, candidate)
    _, held = _split(fresh, cfg, _window(fresh, JAN[-1], 3))
    assert not d.promoted and d.champion_score is None and d.compared_rows == 0
    assert json.loads(d.excluded_intervals) == sorted(set(held["day"]))
    assert "fewer than gate.min_holdout_rows=100" in d.reason and "the champion stays" in d.reason, d.reason
    assert "were left out because the champion was fit on them" in d.reason
    assert str(registry.ModelRegistry(fresh.client, cfg.registered_model_name).champion().version) == champion


def test_too_few_unseen_rows_keep_the_champion_at_the_configured_minimum(fresh: World) -> None:
    cfg = fresh.cfg
    champion = _champion(fresh, cfg, JAN[-1], 8)
    candidate = _trained(fresh, cfg, "unseen/few", JAN[4], 3)
    rows = _expected(fresh, cfg, (JAN[-1], 8), (JAN[4], 3))[3]
    strict = cfg.model_copy(update={"gate": cfg.gate.model_copy(update={"min_holdout_rows": len(rows) + 1})})
    d = promote(strict, fresh.lake, fresh.client, candidate)
    assert not d.promoted and d.compared_rows == len(rows)
    assert f"only {len(rows)} labelled rows are left" in d.reason
    assert f"gate.min_holdout_rows={len(rows) + 1}" in d.reason
    assert str(registry.ModelRegistry(fresh.client, cfg.registered_model_name).champion().version) == champion


def test_a_first_model_is_judged_on_its_own_held_out_rows(fresh: World) -> None:
    cfg = fresh.cfg
    version = _trained(fresh, cfg, "unseen/first", JAN[-1], 5)
    d = promote(cfg, fresh.lake, fresh.client, version)
    _, held = _split(fresh, cfg, _window(fresh, JAN[-1], 5))
    assert d.promoted and d.champion_version is None and d.champion_score is None
    assert d.compared_rows == len(held) and json.loads(d.compared_intervals) == sorted(set(held["day"]))
    assert json.loads(d.excluded_intervals) == [] and json.loads(d.added_intervals) == []
    assert d.candidate_score == pytest.approx(_roc_auc(fresh, cfg, version, held), abs=1e-12)
    assert d.reason.startswith("first model: roc_auc") and f"on its {len(held)} held-out rows" in d.reason


def test_a_champion_whose_score_cannot_be_computed_is_never_read_as_no_champion(fresh: World) -> None:
    """A champion without probabilities (the estimator changed since) has no roc_auc: the candidate
    cannot be shown to be better, so it is refused, not promoted as a "first model"."""
    cfg = fresh.cfg
    svc = cfg.model_copy(
        update={"model": cfg.model.model_copy(update={"estimator": "sklearn.svm.LinearSVC", "params": {}})}
    )
    champion = _trained(fresh, svc, "unseen/svc", JAN[3], 4)
    fresh.client.set_registered_model_alias(cfg.registered_model_name, registry.CHAMPION, champion)
    candidate = _trained(fresh, cfg, "unseen/after-svc", JAN[-1], 4)
    d = promote(cfg, fresh.lake, fresh.client, candidate)
    assert not d.promoted and d.champion_version == champion and d.champion_score is None
    assert d.candidate_score is not None and "first model" not in d.reason
    assert f"roc_auc of champion v{champion} could not be computed" in d.reason, d.reason
    assert str(registry.ModelRegistry(fresh.client, cfg.registered_model_name).champion().version) == champion
