"""The training window: which intervals it should hold, which it holds, and why any is left out.

Each interval it should hold is used, or left out as quarantined, unvalidated, vanished (an error
unless ``split.on_vanished: skip``) or missing. Lost data never becomes a silently smaller window:
every interval left out is in the log, the version's ``data.left_out`` tag and the model card.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_mlops.core.data import commits
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.errors import ConfigError, DataNotFoundError, VanishedDataError

if TYPE_CHECKING:
    from airflow_mlops.core.foundation.config import PipelineConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowPlan:
    """What a window should hold and what it holds (interval dates, oldest first)."""

    start: str
    end: str
    used: list[str]
    quarantined: dict[str, str] = field(default_factory=dict)  # interval -> why
    unvalidated: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)  # only when split.on_vanished is skip
    missing: list[str] = field(default_factory=list)

    def left_out(self) -> dict[str, Any]:
        """The intervals of the window not trained on, by why (only the non-empty kinds)."""
        parts: dict[str, Any] = {
            "quarantined": self.quarantined,
            "unvalidated": self.unvalidated,
            "vanished": self.vanished,
            "missing": self.missing,
        }
        return {k: v for k, v in parts.items() if v}

    def left_out_json(self) -> str:
        return json.dumps(self.left_out(), sort_keys=True)

    def summary(self) -> str:
        """One line for the log: the window, how many intervals it uses, each left out and why."""
        out = []
        for ds, why in self.quarantined.items():
            out.append(f"{ds} quarantined ({why})")
        out += [f"{ds} not validated" for ds in self.unvalidated]
        out += [f"{ds} vanished (committed, now gone; split.on_vanished: skip)" for ds in self.vanished]
        out += [f"{ds} missing (never arrived)" for ds in self.missing]
        left = f"; left out: {', '.join(out)}" if out else "; nothing left out"
        return f"window {self.start}..{self.end}: {len(self.used)} interval(s) used{left}"


def end_date(value: str) -> date:
    """The ``end_date`` Param as a date: a real calendar day, not in the future."""
    try:
        end = date.fromisoformat(value)
    except ValueError as e:
        raise ConfigError(f"end_date: {value!r} is not a calendar date (YYYY-MM-DD): {e}") from e
    if end > date.today():
        raise ConfigError(f"end_date: {value} is in the future (today is {date.today().isoformat()})")
    return end


def scheduled(cfg: PipelineConfig, start: date, end: date) -> list[str]:
    """Interval dates the ingest schedule starts in ``start..end`` (within the schedule's own
    start and end dates); empty when the schedule cannot be read here (no croniter)."""
    sch = cfg.schedules
    first, last = max(start, sch.start_date), min(end, sch.end_date or end)
    if first > last:
        return []
    cron = {"@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@hourly": "0 * * * *"}
    cron |= {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@midnight": "0 0 * * *"}
    expr = cron.get(sch.ingest.strip(), sch.ingest.strip())
    try:
        from croniter import croniter

        it = croniter(expr, datetime.combine(first, datetime.min.time(), UTC) - timedelta(seconds=1))
        out: set[str] = set()
        while (t := it.get_next(datetime)).date() <= last:
            out.add(t.date().isoformat())
    except Exception:  # no croniter, or an expression it does not know: the ledger still speaks
        return []
    return sorted(out)


def plan_window(
    cfg: PipelineConfig | None, cat: Catalog, window_days: int, end_ds: str | None = None
) -> WindowPlan:
    """The window of ``window_days`` days up to ``end_ds`` (default: the newest interval validated
    or committed), each interval it should hold sorted into used or left out (and why)."""
    end = end_date(end_ds) if end_ds else None
    partitions = cat.batches()
    # Each partition's manifest and validation summary, read once.
    read = {b: (cat.manifest(b), cat.validation(b)) for b in partitions}
    validated = {b for b, (m, s) in read.items() if cat.judge(b, m, s) is None}
    ledger = set(commits.committed(cat))
    # The end may be a newer committed interval that is gone: deleting it must not move the window back.
    gone = {b for b in ledger - validated if read.get(b, (None, None))[0] is None}
    anchors = sorted(validated | gone)
    if end is None and not anchors:
        raise DataNotFoundError(f"{cat.pipeline}: no validated batches in {cat.batches_dir}")
    end = end or date.fromisoformat(anchors[-1])
    start = end - timedelta(days=window_days - 1)

    def within(names: set[str] | list[str]) -> set[str]:
        return {b for b in names if start.isoformat() <= b <= end.isoformat()}

    refused = {n.removeprefix("ds=") for n in cat.lake.listdir(cat.quarantine_root)}
    expected = within(ledger | set(partitions) | refused) | within(
        scheduled(cfg, start, end) if cfg is not None else []
    )
    used, quarantined, unvalidated, vanished, missing = [], {}, [], [], []
    for ds in sorted(expected):
        manifest, summary = read.get(ds, (None, None))
        if ds in validated:
            used.append(ds)
        elif manifest is not None:
            if summary is not None and not summary.get("success"):
                quarantined[ds] = f"validation {summary.get('status') or 'failed'}"
            else:
                unvalidated.append(ds)
        elif ds in ledger:
            vanished.append(ds)
        elif ds in refused:
            quarantined[ds] = "refused at ingest"
        else:
            missing.append(ds)
    skip = cfg is not None and cfg.split.on_vanished == "skip"
    if vanished and not skip:
        raise VanishedDataError(_vanished_message(cat, vanished, start, end))
    plan = WindowPlan(
        start.isoformat(), end.isoformat(), used, quarantined, unvalidated, vanished if skip else [], missing
    )
    if not used:
        newest = max((b for b in validated if b <= end.isoformat()), default=None)
        if newest is None:
            raise DataNotFoundError(
                f"{cat.pipeline}: no validated batches up to {end_ds} in {cat.batches_dir}; {plan.summary()}"
            )
        raise DataNotFoundError(
            f"{cat.pipeline}: no validated batches in {start.isoformat()}..{end.isoformat()}; the newest "
            f"up to end_date is {newest} (widen training_window_days or move end_date); {plan.summary()}"
        )
    (log.warning if plan.vanished else log.info)("%s: %s", cat.pipeline, plan.summary())
    return plan


def _vanished_message(cat: Catalog, vanished: list[str], start: date, end: date) -> str:
    said = []
    for ds in vanished:
        last = (commits.history(cat, ds) or [{}])[-1]
        said.append(f"{ds} (committed {last.get('committed_at')}, {last.get('data')})")
    return (
        f"{cat.pipeline}: the training window {start.isoformat()}..{end.isoformat()} lost "
        f"{len(vanished)} interval(s) that ingest committed and that are gone from {cat.batches_dir}: "
        f"{', '.join(said)}. Re-ingest them (clear their ingest task), or set split.on_vanished: skip "
        "to train without them (recorded in the version's tags and model card)"
    )


def select_window(
    cat: Catalog, window_days: int, end_ds: str | None = None, cfg: PipelineConfig | None = None
) -> list[str]:
    """Validated intervals within ``window_days`` days up to ``end_ds`` (see :func:`plan_window`)."""
    return plan_window(cfg, cat, window_days, end_ds).used
