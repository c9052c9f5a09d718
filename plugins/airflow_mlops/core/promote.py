"""Promote: the gate between a candidate model version and the ``champion`` alias.

Candidate and champion are scored on the same held-out data (the candidate's, which is newer than
anything the champion was trained on). The candidate is promoted only if it meets the absolute
minimum and beats the champion by at least ``min_improvement``: never a worse model. The decision
and its reasons are tags on the candidate version, written before the alias moves; a promoted version
records the champion it replaced, which is what rollback uses. A retried promotion returns the
decision already recorded, finishing the alias move if a crash interrupted it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from airflow_mlops.core import model_card, registry
from airflow_mlops.core.catalog import Catalog
from airflow_mlops.core.config import PipelineConfig
from airflow_mlops.core.errors import ConfigError, DataNotFoundError, NoChampionError, PromotionConflictError
from airflow_mlops.core.lake import Lake
from airflow_mlops.core.lock import LakeLock
from airflow_mlops.core.modeling import evaluate
from airflow_mlops.core.registry import Tag
from airflow_mlops.core.result import Result

if TYPE_CHECKING:
    from mlflow import MlflowClient

PREFIX = Tag.PROMOTION_PREFIX


@dataclass(frozen=True)
class PromotionDecision(Result):
    """The gate's verdict on one candidate version."""

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

    def tags(self) -> dict[str, str]:
        d = self.to_dict()
        return {
            f"{PREFIX}{k}": "" if d[k] is None else str(d[k])
            for k in d
            if k not in ("pipeline", "model_name")
        }


def gate(
    cfg: PipelineConfig, candidate: float | None, champion: float | None, champion_version: str | None
) -> tuple[bool, str]:
    """Pure gate logic: (promote?, reason in words)."""
    g = cfg.gate
    better = "higher" if g.higher_is_better else "lower"
    if candidate is None:
        return False, f"{g.metric} could not be computed for the candidate on the held-out data"
    meets = candidate >= g.minimum if g.higher_is_better else candidate <= g.minimum
    if not meets:
        bound = "minimum" if g.higher_is_better else "maximum"
        return (
            False,
            f"{g.metric} {candidate:.4f} misses the absolute {bound} {g.minimum} ({better} is better)",
        )
    if champion is None:
        return True, f"first model: {g.metric} {candidate:.4f} meets the absolute minimum {g.minimum}"
    gain = (candidate - champion) if g.higher_is_better else (champion - candidate)
    vs = (
        f"{g.metric} {candidate:.4f} vs champion v{champion_version} {champion:.4f} on the same held-out data"
    )
    if gain < 0:
        return False, f"{vs}: worse by {-gain:.4f}"
    if gain < g.min_improvement:
        return False, f"{vs}: improvement {gain:.4f} is below the required {g.min_improvement}"
    return True, f"{vs}: better by {gain:.4f} (required {g.min_improvement})"


def recorded_decision(cfg: PipelineConfig, tags: dict[str, str]) -> PromotionDecision | None:
    """A decision read back from a version's tags (None if the gate never judged it)."""
    if f"{PREFIX}promoted" not in tags:
        return None

    def num(k: str) -> float | None:
        v = tags.get(f"{PREFIX}{k}", "")
        return float(v) if v else None

    return PromotionDecision(
        pipeline=cfg.name,
        model_name=cfg.registered_model_name,
        candidate_version=tags[f"{PREFIX}candidate_version"],
        champion_version=tags.get(f"{PREFIX}champion_version") or None,
        promoted=tags[f"{PREFIX}promoted"] == "True",
        reason=tags.get(f"{PREFIX}reason", ""),
        metric=tags.get(f"{PREFIX}metric", cfg.gate.metric),
        candidate_score=num("candidate_score"),
        champion_score=num("champion_score"),
        minimum=float(tags.get(f"{PREFIX}minimum", cfg.gate.minimum)),
        min_improvement=float(tags.get(f"{PREFIX}min_improvement", cfg.gate.min_improvement)),
        decided_at=tags.get(f"{PREFIX}decided_at", ""),
    )


def promote(
    cfg: PipelineConfig, lake: Lake, client: MlflowClient, candidate_version: str
) -> PromotionDecision:
    """Judge ``candidate_version`` against the champion and move the alias if it passes.

    Everything happens under the pipeline's ``champion`` lock in the lake, so two promotions (or a
    promotion and a rollback) never judge against the same champion. The decision is recorded on
    the candidate before the alias moves, and ``promotion.applied`` after: a retry after a crash in
    between finds the decision and completes the move instead of judging again.
    """
    owner = f"promote {cfg.registered_model_name} v{candidate_version}"
    with champion_lock(cfg, lake, owner) as lock:
        tags = registry.tags_of(client.get_model_version(cfg.registered_model_name, candidate_version))
        done = recorded_decision(cfg, tags)
        if done is None or not (tags.get(Tag.PROMOTION_APPLIED) or _apply(cfg, client, done)):
            done = _judge(cfg, lake, client, str(candidate_version), tags, lock.number)
        model_card.after_decision(cfg, lake, client, done)  # never raises
        return done


def champion_lock(cfg: PipelineConfig, lake: Lake, owner: str) -> LakeLock:
    """The lock every move of the pipeline's ``champion`` alias is made under."""
    return LakeLock(lake, Catalog(lake, cfg.name).lock_dir("champion"), owner)


def _judge(
    cfg: PipelineConfig,
    lake: Lake,
    client: MlflowClient,
    version: str,
    tags: dict[str, str],
    lock: int | None,
) -> PromotionDecision:
    name = cfg.registered_model_name
    holdout_uri = tags.get(Tag.HOLDOUT_URI)
    if not holdout_uri:
        raise DataNotFoundError(
            f"{name} v{version}: no {Tag.HOLDOUT_URI} tag; was it trained by airflow-mlops?"
        )
    holdout = lake.read_parquet(holdout_uri)
    metric = cfg.gate.metric
    for _attempt in range(3):
        champ = registry.champion(client, name)
        champ_version = str(champ.version) if champ is not None else None
        cand_score = evaluate(cfg, registry.load_model(cfg, client, version), holdout).get(metric)
        champ_score = None
        if champ_version is not None and champ_version != version:
            champ_score = evaluate(cfg, registry.load_model(cfg, client, champ_version), holdout).get(metric)
        ok, reason = gate(cfg, cand_score, champ_score, champ_version)
        # Compare-and-set, for writers that do not take the lock (a person in the MLflow UI).
        now = registry.champion(client, name)
        if (str(now.version) if now is not None else None) != champ_version:
            continue
        decision = PromotionDecision(
            pipeline=cfg.name,
            model_name=name,
            candidate_version=version,
            champion_version=champ_version,
            promoted=ok,
            reason=reason,
            metric=metric,
            candidate_score=cand_score,
            champion_score=champ_score,
            minimum=cfg.gate.minimum,
            min_improvement=cfg.gate.min_improvement,
            decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        record = {**decision.tags(), Tag.PROMOTION_LOCK: str(lock)}
        if ok:
            record[Tag.PREVIOUS_CHAMPION] = champ_version or ""
        for k, v in record.items():  # the decision first: a crash after this is repaired by a retry
            client.set_model_version_tag(name, version, k, v)
        if _apply(cfg, client, decision):
            return decision
    raise PromotionConflictError(f"{name}: the champion alias kept moving while v{version} was judged; retry")


def _apply(cfg: PipelineConfig, client: MlflowClient, d: PromotionDecision) -> bool:
    """Carry out a recorded decision; False when the champion it was judged against is gone.

    A refusal needs nothing. A promotion moves the alias from the champion it was judged against;
    if the alias already points at the candidate, a crash came after the move. If it points
    elsewhere, the decision is stale and the caller judges again.
    """
    name = cfg.registered_model_name
    if d.promoted:
        now = registry.champion(client, name)
        now_version = str(now.version) if now is not None else None
        if now_version not in (d.candidate_version, d.champion_version):
            return False
        if now_version != d.candidate_version:
            client.set_registered_model_alias(name, registry.CHAMPION, d.candidate_version)
    client.set_model_version_tag(
        name, d.candidate_version, Tag.PROMOTION_APPLIED, datetime.now(UTC).isoformat(timespec="seconds")
    )
    return True


def history(cfg: PipelineConfig, client: MlflowClient) -> list[PromotionDecision]:
    """Every recorded gate decision of a pipeline, newest first."""
    out = []
    for v in registry.versions(client, cfg.registered_model_name):
        d = recorded_decision(cfg, registry.tags_of(v))
        if d is not None:
            out.append(d)
    return sorted(out, key=lambda d: (d.decided_at, int(d.candidate_version)), reverse=True)


@dataclass(frozen=True)
class Rollback(Result):
    """A rollback of the champion: from which version to which, who asked, and why."""

    pipeline: str
    model_name: str
    from_version: str
    to_version: str
    reason: str
    by: str
    at: str


def rollback(
    cfg: PipelineConfig, lake: Lake, client: MlflowClient, *, reason: str, by: str, to: str | None = None
) -> Rollback:
    """Give the ``champion`` alias back to the version the current champion replaced (or to ``to``).

    Under the same lock as promotions. The target must be a version this pipeline promoted once
    (it passed the gate); both versions record who, when and why.
    """
    name = cfg.registered_model_name
    with champion_lock(cfg, lake, f"rollback {name} by {by}") as lock:
        champ = registry.champion(client, name)
        if champ is None:
            raise NoChampionError(f"{name}: no champion to roll back")
        current = str(champ.version)
        target = to or registry.tags_of(champ).get(Tag.PREVIOUS_CHAMPION) or ""
        if not target:
            raise DataNotFoundError(
                f"{name} v{current}: no previous champion recorded; name a version with --to"
            )
        if target == current:
            raise ConfigError(f"{name}: v{target} is already the champion")
        decision = recorded_decision(cfg, registry.tags_of(client.get_model_version(name, target)))
        if decision is None or not decision.promoted:
            raise ConfigError(f"{name} v{target}: never passed the gate, so it cannot be the champion again")
        done = Rollback(
            cfg.name, name, current, target, reason, by, datetime.now(UTC).isoformat(timespec="seconds")
        )
        record = {"reason": reason, "by": by, "at": done.at, "lock": str(lock.number)}
        for version, role, other in ((current, "rolled_back", target), (target, "restored", current)):
            tags = {f"{Tag.ROLLBACK_PREFIX}{role}.{k}": v for k, v in {**record, "other": other}.items()}
            for k, v in tags.items():
                client.set_model_version_tag(name, version, k, v)
        client.set_registered_model_alias(name, registry.CHAMPION, target)
        model_card.refresh(cfg, lake, client, {current: "rolled_back", target: "restored"})  # never raises
        return done
