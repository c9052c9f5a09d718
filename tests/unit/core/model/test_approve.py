"""Human approval of promotions against a real registry: the gate judges, a person answers, the alias
moves only on an approval of a comparison that still holds, and every answer is recorded."""

from __future__ import annotations

import pytest

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.approve import approval_body, approve
from airflow_mlops.core.model.promote import Approval, history, promote
from airflow_mlops.core.model.rollback import rollback
from airflow_mlops.core.model.train import train
from tests.unit.conftest import JAN, World

pytestmark = pytest.mark.unit


def test_the_alias_moves_only_when_a_person_approves(world: World) -> None:
    cfg = world.cfg.model_copy(
        update={
            "gate": world.cfg.gate.model_copy(update={"approval": "required", "approval_timeout_minutes": 90})
        }
    )
    lake, client, name = world.lake, world.client, world.cfg.registered_model_name

    def champion() -> str | None:
        c = registry.ModelRegistry(client, name).champion()
        return None if c is None else str(c.version)

    def tags(v: str) -> dict[str, str]:
        return registry.tags_of(client.get_model_version(name, v))

    # Two early days: even the first model waits for a person.
    small = train(cfg, lake, client, run_key="a/small", end_ds=JAN[1], window_days=2).version
    with pytest.raises(
        ConfigError, match=rf"{name} v{small}: not waiting for approval \(the gate never judged it\)"
    ):
        approve(cfg, lake, client, small, approved=True, by="alice")
    d = promote(cfg, lake, client, small)
    assert not d.promoted and d.approval == Approval.PENDING and d.passed_gate and "first model" in d.reason
    assert champion() is None, "pending: the alias has not moved"
    assert promote(cfg, lake, client, small) == d, "a retried promote returns the pending decision"
    d = approve(cfg, lake, client, small, approved=True, by="alice", reason="first one")
    assert d.promoted and d.approval == Approval.APPROVED and champion() == small
    assert (d.approval_by, d.approval_reason) == ("alice", "first one")

    # Four candidates that have seen the whole of January, each judged against the two-day model.
    pending = {}
    for days in (5, 6, 7, 8):
        v = train(
            cfg, lake, client, run_key=f"a/{days}", end_ds=JAN[-1], window_days=days, force=True
        ).version
        pending[days] = promote(cfg, lake, client, v)
        assert pending[days].approval == Approval.PENDING, pending[days].reason
        assert pending[days].champion_version == small and champion() == small
        assert tags(v)[Tag.APPROVAL_STATE] == "pending" and Tag.PREVIOUS_CHAMPION not in tags(v)

    # What the person sees: challenger against champion, scores, windows, rows, why, drift.
    d8 = pending[8]
    body = approval_body(cfg, lake, client, d8)
    t8, ts = tags(d8.candidate_version), tags(small)
    assert f"| | challenger v{d8.candidate_version} | champion v{small} |" in body
    on = f"{d8.compared_rows} rows neither was fit on"
    assert f"| **roc_auc** on {on} (" in body and d8.compared_rows
    assert f" | {d8.candidate_score:.4f} | {d8.champion_score:.4f} |" in body
    assert f"| trained on | {JAN[0]} .. {JAN[-1]} (8 days) | {JAN[0]} .. {JAN[1]} (2 days) |" in body
    assert f"| training rows | {t8[Tag.TRAIN_ROWS]} | {ts[Tag.TRAIN_ROWS]} |" in body
    assert "No answer within 1.5 hours counts as a rejection." in body
    assert f"Drift: no batch has been monitored against v{small} yet." in body

    # A rejection is recorded with who and why; answering again changes nothing.
    v6 = pending[6].candidate_version
    d = approve(cfg, lake, client, v6, approved=False, by="bob", reason="holdout too small")
    assert (d.promoted, d.approval, d.approval_by, d.approval_reason) == (
        False,
        "rejected",
        "bob",
        "holdout too small",
    )
    assert tags(v6)[Tag.APPROVAL_BY] == "bob" and tags(v6)[f"{Tag.PROMOTION_PREFIX}promoted"] == "False"
    assert approve(cfg, lake, client, v6, approved=True, by="mallory") == d and champion() == small
    with pytest.raises(
        ConfigError, match=r"was never champion \(the gate passed it but its approval ended rejected\)"
    ):
        rollback(cfg, lake, client, reason="want it", by="bob", to=v6)

    # A timeout is a rejection.
    v5 = pending[5].candidate_version
    d = approve(cfg, lake, client, v5, approved=False, by="", timed_out=True)
    assert not d.promoted and d.approval == Approval.TIMED_OUT and d.approval_by == "timeout"
    assert d.approval_reason == "no answer within 90 minutes, which counts as a rejection"
    assert champion() == small

    # An approval: the answer is recorded, then the alias moves, then promotion.applied.
    v8 = d8.candidate_version
    d = approve(cfg, lake, client, v8, approved=True, by="alice")
    assert d.promoted and champion() == v8
    t8 = tags(v8)
    assert (
        t8[Tag.PREVIOUS_CHAMPION] == small
        and t8[Tag.APPROVAL_STATE] == "approved"
        and t8[Tag.PROMOTION_APPLIED]
    )
    assert int(t8[Tag.PROMOTION_LOCK]) > int(tags(small)[Tag.PROMOTION_LOCK])
    # A crash after the answer was recorded and before the alias moved: the retry completes the move.
    client.set_registered_model_alias(name, registry.CHAMPION, small)
    client.delete_model_version_tag(name, v8, Tag.PROMOTION_APPLIED)
    assert approve(cfg, lake, client, v8, approved=True, by="alice") == d and champion() == v8

    # v7 was judged against v2-day model; the champion has changed since: its approval is stale.
    v7 = pending[7].candidate_version
    d = approve(cfg, lake, client, v7, approved=True, by="carol", reason="looks fine")
    assert not d.promoted and d.approval == Approval.STALE and champion() == v8
    assert f"the champion changed from v{small} to v{v8} since the gate's decision" in d.approval_reason
    assert "(approver's reason: looks fine)" in d.approval_reason

    states = {h.candidate_version: h.approval for h in history(cfg, client)}
    assert states == {small: "approved", v5: "timed_out", v6: "rejected", v7: "stale", v8: "approved"}
    # The approved version is a legitimate rollback target; its predecessor is what it replaced.
    assert rollback(cfg, lake, client, reason="undo", by="alice").to_version == small
