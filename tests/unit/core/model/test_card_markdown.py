"""What a card says, from a version's tags alone (no registry, no lake)."""

from __future__ import annotations

import json

import pytest

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.card_markdown import card_markdown, left_out_text

pytestmark = pytest.mark.unit


def test_a_card_from_tags_tells_the_decision_the_rollback_and_the_snapshots(cfg: PipelineConfig) -> None:
    p, r = Tag.PROMOTION_PREFIX, f"{Tag.ROLLBACK_PREFIX}rolled_back."
    tags = {
        Tag.WINDOW: json.dumps(["2013-01-01", "2013-01-02"]),
        Tag.SNAPSHOTS: json.dumps(["2013-01-01:abcd1234"]),
        f"{p}promoted": "True",
        f"{p}reason": "better | by 0.1",
        f"{p}champion_version": "",
        Tag.PREVIOUS_CHAMPION: "3",
        f"{r}at": "2013-02-01T00:00:00",
        f"{r}by": "ana",
        f"{r}other": "3",
        f"{r}reason": "bad",
    }
    md = card_markdown(cfg, tags, [], "rolled_back", version="4")
    assert md.startswith(f"# Model card: {cfg.registered_model_name} v4")
    assert "| Decision | **promoted** |" in md and "better \\| by 0.1" in md and "| Replaced | v3 |" in md
    assert "- Rolled back at 2013-02-01T00:00:00 by ana (the champion went back to v3): bad" in md
    assert "- 2013-01-01: hash `abcd1234`" in md
    assert "No batch has been scored and monitored with this version." in md


def test_left_out_text_names_each_interval_and_why() -> None:
    assert left_out_text(None).startswith("not recorded")
    assert left_out_text("{}") == "none"
    assert left_out_text(json.dumps({"not validated": {"2013-01-02": "failed"}})) == (
        "not validated: 2013-01-02 (failed)"
    )
