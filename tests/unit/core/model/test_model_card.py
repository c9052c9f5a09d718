"""Model cards against a real registry: what a person reads about a version, kept in step with its state."""

from __future__ import annotations

import json
import re

import pytest

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model import model_card
from airflow_mlops.core.model.model_card import HTML_FILE, MARKDOWN_FILE, read_card, write_card
from airflow_mlops.core.model.promote import promote
from airflow_mlops.core.model.rollback import rollback
from airflow_mlops.core.model.train import train
from airflow_mlops.core.monitor import drift
from airflow_mlops.core.monitor.predict import score_batch
from tests.unit.conftest import JAN, JUL, World, weakened

pytestmark = pytest.mark.unit


def _card(world: World, version: str) -> str:
    text = read_card(world.client, world.cfg.registered_model_name, version)
    assert text is not None, f"v{version} has no card"
    return text


def _tags(world: World, version: str) -> dict[str, str]:
    return registry.tags_of(world.client.get_model_version(world.cfg.registered_model_name, version))


def test_a_candidate_gets_a_card_when_training_registers_it(world: World) -> None:
    cfg, client = world.cfg, world.client
    v = train(
        cfg, world.lake, client, run_key="card/candidate", end_ds=JAN[-1], window_days=3, force=True
    ).version
    assert v is not None
    md = _card(world, v)
    assert "**State: candidate**" in md and "Not judged by the gate yet." in md
    assert _tags(world, v)[Tag.CARD_STATE] == "candidate"
    # A retried training run finds its version; the card it already has is left as it is.
    before = _tags(world, v)[Tag.CARD_UPDATED_AT]
    assert train(cfg, world.lake, client, run_key="card/candidate", end_ds=JAN[-1]).reused
    assert _tags(world, v)[Tag.CARD_UPDATED_AT] == before


def test_the_card_of_a_promoted_version_holds_its_lineage_and_decision(fresh_world: World) -> None:
    """A registry of its own: in the module's shared one a rollback may have restored the champion."""
    world = fresh_world
    cfg = world.cfg
    v = world.champion()
    tags = _tags(world, v)
    md = _card(world, v)
    assert f"# Model card: {cfg.registered_model_name} v{v}" in md
    assert "**State: champion**" in md and tags[Tag.CARD_STATE] == "champion"
    assert cfg.description.split()[0] in md and cfg.data_schema.target in md
    snapshots = json.loads(tags[Tag.SNAPSHOTS])
    assert len(snapshots) == len(JAN)
    for item in snapshots:
        ds, short = item.split(":")
        manifest = world.catalog.manifest(ds)
        assert manifest is not None and manifest["content_hash"].startswith(short)
        assert f"- {ds}: hash `{manifest['content_hash']}`, {manifest['rows']} rows" in md
    assert f"{JAN[0]} to {JAN[-1]} ({len(JAN)} intervals)" in md
    assert (
        f"| Training rows | {tags[Tag.TRAIN_ROWS]} |" in md
        and f"| Held-out rows | {tags[Tag.TEST_ROWS]} |" in md
    )
    assert f"`{tags[Tag.CONFIG_HASH]}`" in md
    gate_score = float(tags[registry.metric_tag(cfg.gate.metric)])
    assert f"| **{cfg.gate.metric}** (gate) | **{gate_score:.4f}** |" in md
    assert "| Decision | **promoted** |" in md
    assert f"| Reason | {tags[f'{Tag.PROMOTION_PREFIX}reason']} |" in md and "first model" in md
    assert f"| airflow-mlops code | `{tags[Tag.CODE_VERSION]}` |" in md
    assert f"| scikit-learn | `{tags['lib.scikit-learn']}` |" in md
    total = int(tags[Tag.TRAIN_ROWS]) + int(tags[Tag.TEST_ROWS])
    assert f"fewer than {cfg.split.min_training_rows} labelled rows; this version's window had {total}." in md
    assert "Drift is measured only on the drift columns (" + ", ".join(cfg.drift_columns) + ")" in md


def test_the_artifacts_live_under_the_training_run_and_regenerating_replaces_them(world: World) -> None:
    cfg, client = world.cfg, world.client
    v = train(
        cfg, world.lake, client, run_key="card/regen", end_ds=JAN[-1], window_days=2, force=True
    ).version
    assert v is not None
    run_id = str(client.get_model_version(cfg.registered_model_name, v).run_id)
    files = lambda: sorted(a.path for a in client.list_artifacts(run_id, "model_card"))  # noqa: E731
    assert files() == sorted([MARKDOWN_FILE, HTML_FILE])
    write_card(cfg, world.lake, client, v, "refused")
    write_card(cfg, world.lake, client, v, "replaced")
    assert files() == sorted([MARKDOWN_FILE, HTML_FILE]), "no new files: the same two, rewritten"
    md = _card(world, v)
    assert md.count("# Model card:") == 1 and "**State: replaced**" in md and "refused" not in md
    page = read_card(client, cfg.registered_model_name, v, html_page=True)
    assert page is not None and page.count("<h1>") == 1 and "<strong>State: replaced</strong>" in page
    assert _tags(world, v)[Tag.CARD_STATE] == "replaced"
    assert read_card(client, cfg.registered_model_name, "9999") is None


def test_a_card_that_cannot_be_written_is_logged_not_raised(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The state change it reports on has already happened; failing it now would help nobody."""
    assert model_card.refresh(world.cfg, world.lake, world.client, {"9999": "champion"}) == []
    assert "flights_delay v9999: could not write the model card (state champion)" in caplog.text


def test_promotion_and_rollback_rewrite_the_cards_of_both_versions(world: World) -> None:
    cfg, lake, client = world.cfg, world.lake, world.client
    first = world.champion()
    six = train(cfg, lake, client, run_key="card/six", end_ds=JAN[-1], window_days=6, force=True).version
    assert six is not None
    d = promote(cfg, lake, client, six)
    assert d.promoted, d.reason
    assert "**State: champion**" in _card(world, six) and f"| Replaced | v{first} |" in _card(world, six)
    assert "**State: replaced**" in _card(world, first)

    done = rollback(cfg, lake, client, reason="late flights <b>misjudged</b>", by="alice")
    assert (done.from_version, done.to_version) == (six, first)
    rolled = _card(world, six)
    assert "**State: rolled_back**" in rolled and _tags(world, six)[Tag.CARD_STATE] == "rolled_back"
    assert f"- Rolled back at {done.at} by alice (the champion went back to v{first}): " in rolled
    assert "late flights <b>misjudged</b>" in rolled
    restored = _card(world, first)
    assert "**State: restored**" in restored and f"by alice (replacing v{six})" in restored
    page = read_card(client, cfg.registered_model_name, six, html_page=True)
    assert page is not None and "late flights &lt;b&gt;misjudged&lt;/b&gt;" in page and "<b>" not in page

    # A refused candidate's card says so, with the reason the gate gave.
    worse = train(weakened(cfg), lake, client, run_key="card/worse", end_ds=JAN[1], window_days=2).version
    assert worse is not None
    refusal = promote(cfg, lake, client, worse)
    assert not refusal.promoted
    md = _card(world, worse)
    assert "**State: refused**" in md and "| Decision | **refused** |" in md and refusal.reason in md
    assert f"| Compared on | {refusal.compared_rows} labelled rows of " in md


def test_drift_since_deployment_counts_the_monitoring_runs_of_the_version(world: World) -> None:
    cfg, lake, client = world.cfg, world.lake, world.client
    v = world.champion()
    results = []
    for ds in (JAN[-1], JUL):
        assert score_batch(cfg, lake, client, ds).model_version == v
        results.append(drift.monitor_batch(cfg, lake, client, ds, run_key=f"card/monitor/{ds}"))
    rows = model_card.drift_history(cfg, client, v)
    assert [r["ds"] for r in rows] == [JAN[-1], JUL]
    write_card(cfg, lake, client, v, "champion")
    md = _card(world, v)
    drifted = sum(1 for r in results if r["drift_detected"])
    assert f"- Batches scored and monitored: 2 ({JAN[-1]} to {JUL})" in md
    assert f"- Batches with drift: {drifted} (threshold" in md
    assert f"- Latest drift share: {results[-1]['drift_share']:.0%} on {JUL}" in md
    assert model_card.drift_history(cfg, client, "9999") == []


def test_the_html_fetches_nothing_and_escapes_what_the_config_says(world: World) -> None:
    cfg, client = world.cfg, world.client
    hostile = cfg.model_copy(
        update={
            "description": 'Delays <script>alert("x")</script> | see <img src="https://evil.example/x.png">'
        }
    )
    v = world.champion()
    write_card(hostile, world.lake, client, v, "champion")
    page = read_card(client, cfg.registered_model_name, v, html_page=True)
    assert page is not None and page.startswith("<!DOCTYPE html>")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<script" not in page.lower() and "<img" not in page.lower() and "<link" not in page.lower()
    assert re.search(r"<[^>]+\s(src|href)\s*=", page, re.IGNORECASE) is None, "no element loads a resource"
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page
    assert "| see" in _card(world, v).replace("\\|", "|")
    write_card(cfg, world.lake, client, v, "champion")  # leave the champion's card as the config says
