"""Approve: a person's answer to a promotion that passed the gate and waits (``gate.approval: required``).

The answer is carried out under the same ``champion`` lock as the gate, and only while the comparison
the person saw still holds; :func:`approval_body` writes the question they answer.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError, PromotionConflictError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import ModelRegistry, Tag
from airflow_mlops.core.model import comparison
from airflow_mlops.core.model.promote import (
    Approval,
    PromotionDecision,
    cards_after,
    carry_out,
    recorded_decision,
    write_decision,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient


def approve(
    cfg: PipelineConfig,
    lake: Lake,
    client: MlflowClient,
    candidate_version: str,
    *,
    approved: bool,
    by: str,
    reason: str = "",
    timed_out: bool = False,
) -> PromotionDecision:
    """Carry out a person's answer under the ``champion`` lock. If the alias moved while the question
    waited, the comparison the person approved is gone: recorded as ``stale``. A timeout is a rejection;
    an answer already recorded is returned (after finishing its alias move)."""
    reg = ModelRegistry(client, cfg.registered_model_name)
    name, version = reg.name, str(candidate_version)
    verb = "approve" if approved and not timed_out else "reject"
    with reg.lock(lake, cfg.name, f"{verb} {name} v{version} by {by}") as lock:
        tags = reg.tags(version)
        d = recorded_decision(cfg, tags)
        if d is None or not d.approval:
            why = "the gate never judged it" if d is None else f"the gate decided alone: {d.reason}"
            raise ConfigError(f"{name} v{version}: not waiting for approval ({why})")
        if d.approval != Approval.PENDING:  # answered before: this is a retry
            if d.promoted and not tags.get(Tag.PROMOTION_APPLIED) and not carry_out(reg, d):
                raise PromotionConflictError(
                    f"{name}: the champion alias moved away from v{d.champion_version} before the "
                    f"approval of v{version} was applied; train again"
                )
            return d
        state, note = _answer(
            cfg, d, reg.champion_version(), approved=approved, by=by, reason=reason, timed_out=timed_out
        )
        answered = replace(
            d,
            promoted=state == Approval.APPROVED,
            approval=state,
            approval_by="timeout" if timed_out else by,
            approval_at=datetime.now(UTC).isoformat(timespec="seconds"),
            approval_reason=note,
        )
        if tags.get(Tag.PROMOTION_APPLIED):  # the pending decision was "applied" (nothing moved)
            reg.delete_tag(version, Tag.PROMOTION_APPLIED)
        write_decision(reg, answered, lock.number)  # the answer first
        if not carry_out(reg, answered):  # someone moved the alias outside the lock just now
            answered = replace(
                answered,
                promoted=False,
                approval=Approval.STALE,
                approval_reason=f"{note}; the champion alias moved while it was applied",
            )
            reg.set_tags(version, answered.tags())
            carry_out(reg, answered)
        cards_after(cfg, lake, client, answered)  # never raises
        return answered


def _answer(
    cfg: PipelineConfig,
    d: PromotionDecision,
    champion_now: str | None,
    *,
    approved: bool,
    by: str,
    reason: str,
    timed_out: bool,
) -> tuple[str, str]:
    """(approval state, why in words) for an answer to the pending decision ``d``."""
    if timed_out:
        minutes = cfg.gate.approval_timeout_minutes
        return Approval.TIMED_OUT, f"no answer within {minutes} minutes, which counts as a rejection"
    if not approved:
        return Approval.REJECTED, reason or f"rejected by {by}"
    if champion_now != d.champion_version:
        judged = f"v{d.champion_version}" if d.champion_version else "no champion"
        now = f"v{champion_now}" if champion_now else "none"
        return Approval.STALE, (
            f"approved by {by}, but the champion changed from {judged} to {now} since the gate's "
            "decision; train again to be judged against the new champion"
            + (f" (approver's reason: {reason})" if reason else "")
        )
    return Approval.APPROVED, reason or f"approved by {by}"


def approval_body(cfg: PipelineConfig, lake: Lake, client: MlflowClient, d: PromotionDecision) -> str:
    """The question a person answers, in Markdown: the challenger against the champion."""
    reg = ModelRegistry(client, cfg.registered_model_name)
    name = reg.name
    versions = [("challenger", d.candidate_version, d.candidate_score)]
    if d.champion_version:
        versions.append(("champion", d.champion_version, d.champion_score))
    tags = {v: reg.tags(v) for _, v, _ in versions}

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    def window(t: dict[str, str]) -> str:
        days = json.loads(t.get(Tag.WINDOW) or "[]")
        return f"{days[0]} .. {days[-1]} ({len(days)} days)" if days else "?"

    metrics = sorted({m for t in tags.values() for m in registry.prefixed(t, Tag.METRIC_PREFIX)})
    head = " | ".join(f"{role} v{v}" for role, v, _ in versions)
    rows = [
        f"| | {head} |",
        "|---|" + "---|" * len(versions),
        f"| **{d.metric}** on {_compared(d)} | " + " | ".join(fmt(score) for _, _, score in versions) + " |",
        *(
            f"| {m} (own held-out data) | "
            + " | ".join(tags[v].get(registry.metric_tag(m), "n/a") for _, v, _ in versions)
            + " |"
            for m in metrics
        ),
        "| trained on | " + " | ".join(window(tags[v]) for _, v, _ in versions) + " |",
        "| training rows | " + " | ".join(tags[v].get(Tag.TRAIN_ROWS, "?") for _, v, _ in versions) + " |",
        "| held-out rows | " + " | ".join(tags[v].get(Tag.TEST_ROWS, "?") for _, v, _ in versions) + " |",
        "| trained because | "
        + " | ".join(tags[v].get(Tag.REASON, "?").replace("|", "/") for _, v, _ in versions)
        + " |",
    ]
    hours = cfg.gate.approval_timeout_minutes / 60
    return "\n".join(
        [
            f"**{cfg.name}**: the gate passed **{name} v{d.candidate_version}**.",
            "",
            f"> {d.reason}",
            "",
            *rows,
            "",
            _drift_since(cfg, lake, d.champion_version),
            "",
            f"**Approve** moves the `champion` alias to v{d.candidate_version}; **Reject** keeps "
            f"{'v' + d.champion_version if d.champion_version else 'no champion'}. "
            f"No answer within {hours:g} hours counts as a rejection.",
        ]
    )


def _compared(d: PromotionDecision) -> str:
    """The rows a decision compared on, in a few words."""
    if d.compared_rows is None:
        return "the challenger's held-out data"
    intervals = json.loads(d.compared_intervals or "[]")
    unseen = " neither was fit on" if d.champion_version else ""
    return f"{d.compared_rows} rows{unseen} ({comparison.span(intervals)})"


def _drift_since(cfg: PipelineConfig, lake: Lake, champion_version: str | None) -> str:
    """One line on the drift of the batches the champion scored."""
    if champion_version is None:
        return "Drift: there is no champion yet."
    cat = Catalog(lake, cfg.name)
    seen = [
        s
        for s in (cat.counted_drift(ds) for ds in cat.batches())
        if s and str(s.get("model_version")) == champion_version
    ]
    if not seen:
        return f"Drift: no batch has been monitored against v{champion_version} yet."
    drifted = [s for s in seen if s.get("drift_detected")]
    last = seen[-1]
    return (
        f"Drift since v{champion_version} became champion: {len(drifted)} of {len(seen)} monitored batches "
        f"drifted; the latest, {last.get('ds')}, had {float(last.get('drift_share') or 0):.0%} of its "
        "columns drifting."
    )
