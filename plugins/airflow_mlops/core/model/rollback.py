"""Rollback: give the ``champion`` alias back to a version that held it, recording who, when and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError, DataNotFoundError, NoChampionError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import ModelRegistry, Tag, tags_of
from airflow_mlops.core.foundation.result import Result
from airflow_mlops.core.model import model_card
from airflow_mlops.core.model.promote import recorded_decision

if TYPE_CHECKING:
    from mlflow import MlflowClient


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
    """Give the ``champion`` alias back to the version the champion replaced (or to ``to``, which must
    have been promoted once), under the promotions' lock."""
    reg = ModelRegistry(client, cfg.registered_model_name)
    name = reg.name
    if to is not None and not str(to).isdigit():
        raise ConfigError(f"{name}: a version to roll back to is a number, not {to!r}")
    if not reason.strip():
        raise ConfigError(f"{name}: a rollback needs a reason")
    with reg.lock(lake, cfg.name, f"rollback {name} by {by}") as lock:
        champ = reg.champion()
        if champ is None:
            raise NoChampionError(f"{name}: no champion to roll back")
        current = str(champ.version)
        target = to or tags_of(champ).get(Tag.PREVIOUS_CHAMPION) or ""
        if not target:
            raise DataNotFoundError(
                f"{name} v{current}: no previous champion recorded; name a version with --to"
            )
        if target == current:
            raise ConfigError(f"{name}: v{target} is already the champion")
        decision = recorded_decision(cfg, reg.tags(target))
        if decision is None or not decision.promoted:
            why = (
                f"the gate passed it but its approval ended {decision.approval}"
                if decision is not None and decision.passed_gate
                else "it never passed the gate"
            )
            raise ConfigError(f"{name} v{target}: was never champion ({why}), so it cannot be restored")
        done = Rollback(
            cfg.name, name, current, target, reason, by, datetime.now(UTC).isoformat(timespec="seconds")
        )
        record = {"reason": reason, "by": by, "at": done.at, "lock": str(lock.number)}
        for version, role, other in ((current, "rolled_back", target), (target, "restored", current)):
            reg.set_tags(
                version,
                {f"{Tag.ROLLBACK_PREFIX}{role}.{k}": v for k, v in {**record, "other": other}.items()},
            )
        reg.set_champion(target)
        model_card.refresh(cfg, lake, client, {current: "rolled_back", target: "restored"})  # never raises
        return done
