"""Model cards: the facts on a version and its monitoring runs in one page a person reads, stored as
Markdown and self-contained HTML artifacts of its training run, rewritten when its state changes.

:func:`refresh` never raises: a card that could not be written must not fail a promotion whose
alias has already moved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import ModelRegistry, Tag
from airflow_mlops.core.foundation.result import Result
from airflow_mlops.core.model.card_html import card_html
from airflow_mlops.core.model.card_markdown import card_markdown, snapshot_details_from_tags

if TYPE_CHECKING:
    from mlflow import MlflowClient


log = logging.getLogger(__name__)

CARD_DIR: Final = "model_card"
MARKDOWN_FILE: Final = f"{CARD_DIR}/model_card.md"
HTML_FILE: Final = f"{CARD_DIR}/model_card.html"


@dataclass(frozen=True)
class CardResult(Result):
    """Where a version's card was written and which state it describes."""

    pipeline: str
    model_name: str
    version: str
    run_id: str
    state: str
    markdown_uri: str
    html_uri: str
    updated_at: str


# --- gathering ------------------------------------------------------------------------------------
def drift_history(cfg: PipelineConfig, client: MlflowClient, version: str) -> list[dict[str, Any]]:
    """One row per interval this version scored (oldest first); of a re-monitored interval the newest run counts."""
    exp = client.get_experiment_by_name(cfg.experiment_name)
    if exp is None:
        return []
    query = (
        f"tags.`{Tag.KIND}` = 'monitoring' and tags.`{Tag.PIPELINE}` = '{cfg.name}' "
        f"and tags.`{Tag.MODEL_VERSION}` = '{version}'"
    )
    runs: list[Any] = []
    token = None
    while token != "":
        page = client.search_runs(
            [exp.experiment_id], filter_string=query, max_results=1000, page_token=token
        )
        runs.extend(page)
        token = page.token or ""
    latest: dict[str, Any] = {}
    for r in sorted(runs, key=lambda r: r.info.start_time or 0):
        ds = r.data.tags.get(Tag.MONITOR_DS)
        if ds:
            latest[ds] = r
    rows = []
    for ds in sorted(latest):
        r = latest[ds]
        m = r.data.metrics
        rows.append(
            {
                "ds": ds,
                "drift_share": m.get("drift_share"),
                "drift_detected": r.data.tags.get(Tag.DRIFT_DETECTED) == "true",
                "n_drifted": int(m["n_drifted"]) if "n_drifted" in m else None,
                "n_columns": int(m["n_drift_columns"]) if "n_drift_columns" in m else None,
            }
        )
    return rows


def snapshot_details(cfg: PipelineConfig, lake: Lake, version_tags: dict[str, str]) -> list[dict[str, Any]]:
    """The version's snapshots with their rows and full hash from the lake, and whether the interval
    has been re-ingested since (then the lake no longer holds what the model learned from)."""
    cat = Catalog(lake, cfg.name)
    out = snapshot_details_from_tags(version_tags)
    for snap in out:
        m = cat.manifest(snap["ds"]) or {}
        now = str(m.get("content_hash") or "")
        if now.startswith(snap["hash"]) and now:
            snap.update(hash=now, rows=m.get("rows"))
        else:
            snap["reingested"] = bool(now)
    return out


# --- writing and reading --------------------------------------------------------------------------
def write_card(cfg: PipelineConfig, lake: Lake, client: MlflowClient, version: str, state: str) -> CardResult:
    """(Re)write the card of ``version``; the tags last, so ``model_card.state`` names a written card."""
    reg = ModelRegistry(client, cfg.registered_model_name)
    name, version = reg.name, str(version)
    mv = reg.version(version)
    tags = registry.tags_of(mv)
    champ = reg.champion()
    run_id = str(mv.run_id)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    md = card_markdown(
        cfg,
        tags,
        drift_history(cfg, client, version),
        state,
        version=version,
        snapshots=snapshot_details(cfg, lake, tags),
        updated_at=now,
        champion=None if champ is None else (str(champ.version), registry.tags_of(champ)),
    )
    client.log_text(run_id, md, MARKDOWN_FILE)
    client.log_text(run_id, card_html(md), HTML_FILE)
    reg.set_tags(version, {Tag.CARD_STATE: state, Tag.CARD_UPDATED_AT: now})
    return CardResult(cfg.name, name, version, run_id, state, MARKDOWN_FILE, HTML_FILE, now)


def read_card(client: MlflowClient, name: str, version: str, *, html_page: bool = False) -> str | None:
    """The stored card of a version (Markdown, or the HTML page); None if the version or its card
    does not exist. Any other failure (a registry that cannot answer) propagates."""
    import tempfile

    from mlflow.exceptions import MlflowException

    mv = ModelRegistry(client, name).find(version)
    if mv is None or Tag.CARD_STATE not in registry.tags_of(mv):
        return None
    with tempfile.TemporaryDirectory(prefix="model-card-") as tmp:
        try:
            local = client.download_artifacts(str(mv.run_id), HTML_FILE if html_page else MARKDOWN_FILE, tmp)
        except (MlflowException, OSError):
            return None
        with open(local, encoding="utf-8") as f:
            return f.read()


def refresh(
    cfg: PipelineConfig,
    lake: Lake,
    client: MlflowClient,
    states: dict[str, str],
    *,
    only_missing: bool = False,
) -> list[CardResult]:
    """Rewrite the cards of versions whose state just changed; never raises. ``only_missing``: a retried
    training must not turn the card of a version promoted since back into a candidate's."""
    done, reg = [], ModelRegistry(client, cfg.registered_model_name)
    for version, state in states.items():
        try:
            if only_missing and Tag.CARD_STATE in reg.tags(version):
                continue
            done.append(write_card(cfg, lake, client, version, state))
        except Exception:
            log.warning(
                "%s v%s: could not write the model card (state %s); the state change itself is unaffected",
                *(cfg.registered_model_name, version, state),
                exc_info=True,
            )
    return done
