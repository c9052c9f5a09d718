"""Promote: the gate between a candidate model version and the ``champion`` alias.

Both are scored only on rows neither was fit on (:mod:`core.model.comparison`); the candidate must
meet the minimum and beat the champion strictly, so never a worse model and a tie keeps the champion.
The decision is tagged on the candidate before the alias moves, so a retry finishes it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import DataNotFoundError, PromotionConflictError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import ModelRegistry, Tag
from airflow_mlops.core.foundation.result import Result
from airflow_mlops.core.model import comparison, model_card
from airflow_mlops.core.model import holdout as held_out

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

PREFIX = Tag.PROMOTION_PREFIX


class Approval:
    """States of a person's approval of a candidate that passed the gate (``gate.approval: required``)."""

    PENDING: Final = "pending"  # the gate passed; the alias waits for a person
    APPROVED: Final = "approved"  # a person approved; the alias moved
    REJECTED: Final = "rejected"  # a person rejected; the champion stays
    TIMED_OUT: Final = "timed_out"  # nobody answered in time: a rejection
    STALE: Final = "stale"  # approved, but the champion had changed since the gate judged: not applied


#: Decision fields recorded under ``promotion.approval.*`` instead of ``promotion.<field>``.
_APPROVAL_TAGS = {
    "approval": Tag.APPROVAL_STATE,
    "approval_by": Tag.APPROVAL_BY,
    "approval_at": Tag.APPROVAL_AT,
    "approval_reason": Tag.APPROVAL_REASON,
}


@dataclass(frozen=True)
class PromotionDecision(Result):
    """The gate's verdict on one candidate; ``promoted`` means it makes the candidate champion,
    ``approval`` is empty when the gate decides alone, else one of :class:`Approval`."""

    pipeline: str
    model_name: str
    candidate_version: str
    champion_version: str | None
    promoted: bool
    reason: str
    metric: str
    candidate_score: float | None
    champion_score: float | None
    minimum: float
    min_improvement: float
    decided_at: str
    approval: str = ""
    approval_by: str = ""
    approval_at: str = ""
    approval_reason: str = ""
    slices: str = ""  # the slice table (holdout.record's JSON); empty without gate.slices
    compared_rows: int | None = None  # labelled rows both were scored on (None: recorded before)
    compared_intervals: str = ""  # JSON list of the intervals those rows came from
    excluded_intervals: str = ""  # JSON list: held-out intervals left out, the champion was fit on them
    added_intervals: str = ""  # JSON list: later validated batches neither model saw, added

    @property
    def passed_gate(self) -> bool:
        """Whether the gate passed the candidate (a person may still have refused it)."""
        return self.promoted or bool(self.approval)

    def tags(self) -> dict[str, str]:
        """The decision as version tags; approval tags only when an approval was asked for."""
        return {
            _APPROVAL_TAGS.get(k, f"{PREFIX}{k}"): "" if v is None else str(v)
            for k, v in self.to_dict().items()
            if k not in ("pipeline", "model_name") and (k not in _APPROVAL_TAGS or self.approval)
        }


#: Scores closer than this are equal: a gain exactly at ``min_improvement`` is reached however the
#: floats rounded, and with ``min_improvement`` 0 such a gain is a tie.
TOLERANCE: Final = 1e-12


def gate(
    cfg: PipelineConfig,
    candidate: float | None,
    champion: float | None,
    champion_version: str | None,
    on: str = "on the same held-out data",
) -> tuple[bool, str]:
    """(promote?, reason in words). A tie is refused even with ``min_improvement`` 0: replacing the
    champion with its retrained twin only churns the registry. A missing or NaN score keeps the champion."""
    g = cfg.gate
    better = "higher" if g.higher_is_better else "lower"
    if candidate is None or math.isnan(candidate):
        return False, f"{g.metric} could not be computed for the candidate {on}"
    meets = candidate >= g.minimum if g.higher_is_better else candidate <= g.minimum
    if not meets:
        bound = "minimum" if g.higher_is_better else "maximum"
        return (
            False,
            f"{g.metric} {candidate:.4f} misses the absolute {bound} {g.minimum} ({better} is better) {on}",
        )
    if champion_version is None:
        return True, f"first model: {g.metric} {candidate:.4f} meets the absolute minimum {g.minimum} {on}"
    if champion is None or math.isnan(champion):
        return False, (
            f"{g.metric} of champion v{champion_version} could not be computed {on}, so the candidate "
            f"({candidate:.4f}) cannot be shown to be better; the champion stays"
        )
    gain = (candidate - champion) if g.higher_is_better else (champion - candidate)
    vs = f"{g.metric} {candidate:.4f} vs champion v{champion_version} {champion:.4f} {on}"
    if g.min_improvement == 0 and abs(gain) <= TOLERANCE:  # a tie never moves the champion
        return False, f"{vs}: ties the champion; a candidate must be strictly better to replace it"
    if gain < 0:
        return False, f"{vs}: worse by {-gain:.4f}"
    if gain < g.min_improvement - TOLERANCE:
        return False, f"{vs}: improvement {gain:.4f} is below the required {g.min_improvement}"
    return True, f"{vs}: better by {gain:.4f} (required {g.min_improvement})"


def too_few(cfg: PipelineConfig, judged: comparison.Comparison, champion_version: str) -> str:
    """Why the champion stays when too few rows are left that neither model was fit on."""
    least = cfg.gate.held_out_minimum
    return (
        f"only {len(judged.rows)} labelled rows are left that neither the candidate nor champion "
        f"v{champion_version} was fit on ({comparison.span(judged.intervals)}), fewer than "
        f"gate.min_holdout_rows={least}"
        + (
            f": its held-out rows of {comparison.span(judged.excluded)} were left out because the "
            "champion was fit on them"
            if judged.excluded
            else ""
        )
        + "; the champion stays (train on a window that ends after the champion's, or wait for newer batches)"
    )


def recorded_decision(cfg: PipelineConfig, tags: dict[str, str]) -> PromotionDecision | None:
    """A decision read back from a version's tags (None if the gate never judged it)."""
    if f"{PREFIX}promoted" not in tags:
        return None
    t: dict[str, Any] = {
        k: str(tags.get(_APPROVAL_TAGS.get(k, f"{PREFIX}{k}"), ""))
        for k in PromotionDecision.__dataclass_fields__
    }
    g, rows = cfg.gate, t["compared_rows"]
    for k in ("candidate_score", "champion_score"):
        t[k] = float(t[k]) if t[k] else None
    t |= {
        "pipeline": cfg.name,
        "model_name": cfg.registered_model_name,
        "champion_version": t["champion_version"] or None,
        "promoted": t["promoted"] == "True",
        "metric": t["metric"] or g.metric,
        "minimum": float(t["minimum"] or g.minimum),
        "min_improvement": float(t["min_improvement"] or g.min_improvement),
        "compared_rows": int(rows) if rows.isdigit() else None,
    }
    return PromotionDecision(**t)


def promote(
    cfg: PipelineConfig, lake: Lake, client: MlflowClient, candidate_version: str
) -> PromotionDecision:
    """Judge ``candidate_version`` and move the alias if it passes, under the ``champion`` lock so two
    promotions (or a rollback) never judge against the same champion."""
    reg = ModelRegistry(client, cfg.registered_model_name)
    with reg.lock(lake, cfg.name, f"promote {reg.name} v{candidate_version}") as lock:
        tags = reg.tags(candidate_version)
        done = recorded_decision(cfg, tags)
        if done is None or not (tags.get(Tag.PROMOTION_APPLIED) or carry_out(reg, done)):
            done = _judge(cfg, lake, reg, str(candidate_version), tags, lock.number)
        cards_after(cfg, lake, client, done)  # never raises
        return done


def _judge(
    cfg: PipelineConfig,
    lake: Lake,
    reg: ModelRegistry,
    version: str,
    tags: dict[str, str],
    lock: int | None,
) -> PromotionDecision:
    name, client = reg.name, reg.client
    holdout_uri = tags.get(Tag.HOLDOUT_URI)
    if not holdout_uri:
        raise DataNotFoundError(
            f"{name} v{version}: no {Tag.HOLDOUT_URI} tag; was it trained by airflow-mlops?"
        )
    holdout = lake.read_parquet(holdout_uri)
    missing = [c for c in cfg.gate.slices if c not in holdout.columns]
    if missing:
        raise DataNotFoundError(
            f"{name} v{version}: its held-out data has no column {missing} of gate.slices (it was "
            "trained before the slices were configured); train again"
        )
    metric = cfg.gate.metric
    model = registry.load_model(cfg, client, version)
    for _attempt in range(3):
        champ = reg.champion()
        champ_version = str(champ.version) if champ is not None else None
        # The version to beat: none for a first model (or a candidate that already holds the alias).
        against = None if champ is None or champ_version == version else champ_version
        if against is None or champ is None:
            judged = comparison.own(cfg, holdout)
        else:
            judged = comparison.unseen(cfg, lake, holdout, tags, registry.tags_of(champ), against)
        cand = held_out.score(cfg, model, judged.rows) if len(judged.rows) else None
        cand_score = cand.metrics.get(metric) if cand else None
        champ_scored, champ_score = None, None
        if against is not None and len(judged.rows) < cfg.gate.held_out_minimum:
            ok, reason = False, too_few(cfg, judged, against)
        else:
            if against is not None:
                champ_scored = held_out.score(cfg, registry.load_model(cfg, client, against), judged.rows)
                champ_score = champ_scored.metrics.get(metric)
            ok, reason = gate(cfg, cand_score, champ_score, against, judged.described(against))
        slices = held_out.compare(cand, champ_scored) if cand else []
        refused = held_out.refusal(cfg, slices) if ok else None
        if refused:
            ok, reason = False, f"{reason}; but {refused}"
        pending = ok and cfg.gate.approval == "required"  # a person has the last word
        # Compare-and-set, for writers that do not take the lock (a person in the MLflow UI).
        if reg.champion_version() != champ_version:
            continue
        decision = PromotionDecision(
            pipeline=cfg.name,
            model_name=name,
            candidate_version=version,
            champion_version=champ_version,
            promoted=ok and not pending,
            reason=reason,
            metric=metric,
            candidate_score=cand_score,
            champion_score=champ_score,
            minimum=cfg.gate.minimum,
            min_improvement=cfg.gate.min_improvement,
            decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
            approval=Approval.PENDING if pending else "",
            slices=held_out.record(cfg, slices) if slices else "",
            compared_rows=len(judged.rows),
            compared_intervals=json.dumps(judged.intervals),
            excluded_intervals=json.dumps(judged.excluded),
            added_intervals=json.dumps(judged.added),
        )
        write_decision(reg, decision, lock)
        if carry_out(reg, decision):
            return decision
    raise PromotionConflictError(f"{name}: the champion alias kept moving while v{version} was judged; retry")


def write_decision(reg: ModelRegistry, d: PromotionDecision, lock: int | None) -> None:
    """Record ``d`` on its candidate with the lock it was made under and, if it promotes, the champion
    it replaces. Written before the alias moves, so a crash after it is repaired by a retry."""
    record = {**d.tags(), Tag.PROMOTION_LOCK: str(lock)}
    if d.promoted:
        record[Tag.PREVIOUS_CHAMPION] = d.champion_version or ""
    reg.set_tags(d.candidate_version, record)


def carry_out(reg: ModelRegistry, d: PromotionDecision) -> bool:
    """Carry out a recorded decision; False when the champion it was judged against is gone
    (the decision is stale and the caller judges again)."""
    if d.promoted:
        now_version = reg.champion_version()
        if now_version not in (d.candidate_version, d.champion_version):
            return False
        if now_version != d.candidate_version:
            reg.set_champion(d.candidate_version)
    reg.set_tags(
        d.candidate_version, {Tag.PROMOTION_APPLIED: datetime.now(UTC).isoformat(timespec="seconds")}
    )
    return True


def history(cfg: PipelineConfig, client: MlflowClient) -> list[PromotionDecision]:
    """Every recorded gate decision of a pipeline, newest first."""
    found = (
        recorded_decision(cfg, registry.tags_of(v))
        for v in ModelRegistry(client, cfg.registered_model_name).versions()
    )
    out = [d for d in found if d is not None]
    return sorted(out, key=lambda d: (d.decided_at, int(d.candidate_version)), reverse=True)


def cards_after(cfg: PipelineConfig, lake: Lake, client: MlflowClient, d: PromotionDecision) -> None:
    """Cards after a gate decision; states are checked against the alias now, so an old decision a
    retry returns does not call a rolled-back version champion."""
    try:
        now = ModelRegistry(client, cfg.registered_model_name).champion_version()
    except Exception:
        log.warning("%s: could not read the champion; model cards not updated", cfg.name, exc_info=True)
        return
    states: dict[str, str] = {}
    if now == d.candidate_version:
        states[d.candidate_version] = "champion"
    elif not d.promoted:
        states[d.candidate_version] = "refused"
    if d.promoted and d.champion_version and d.champion_version not in (now, d.candidate_version):
        states[d.champion_version] = "replaced"
    model_card.refresh(cfg, lake, client, states)
