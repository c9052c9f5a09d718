"""The catalog: where every file of a pipeline lives in the lake, and every question asked of them.

This is the one module that knows the layout below; writers ask it where to write, and every reader
(tasks, the CLI, the UI) asks it what is there::

    <lake>/<pipeline>/
      batches/ds=<YYYY-MM-DD>/
        manifest.json             commit point of the snapshot (ingest)
        data-<hash16>.parquet     the snapshot, named by its content hash
        validation/
          result.json             full Great Expectations result
          docs/index.html         Great Expectations data docs
          summary.json            verdict, written last (validate)
        predictions/predictions.parquet   the champion's predictions (predict)
        drift/
          report.html, report.json        Evidently report
          summary.json            drift verdict, written last (drift)
      commits/ds=<YYYY-MM-DD>/<time>-<hash16>-<id>.json   the commit ledger, append-only (ingest, core.commits)
      quarantine/ds=<YYYY-MM-DD>/
        <raw file>, reason.json   a raw file ingest refused, and why (ingest)
      models/<run>/
        holdout.parquet           rows the gate judges candidates on (train)
        reference.parquet         drift reference: training window + the model's predictions
      locks/<name>/<n>.json       leases of a lock in the lake (core.lock), <n>.released when let go
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_mlops.core.foundation.errors import DataNotFoundError, NotValidatedError
from airflow_mlops.core.foundation.lake import Lake

_DS = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SAFE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=-]*$")
MANIFEST = "manifest.json"
SUMMARY = "summary.json"


def run_dir_name(run_key: str) -> str:
    """A lake-safe directory name for an Airflow run key (``<dag_id>/<run_id>``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_key)[:200]


@dataclass(frozen=True)
class Catalog:
    """One pipeline's part of the lake."""

    lake: Lake
    pipeline: str

    # --- layout: every path under the pipeline's root -----------------------------------------
    @property
    def batches_dir(self) -> str:
        return self.lake.uri(self.pipeline, "batches")

    def partition(self, ds: str) -> str:
        """The directory of one data interval; everything about that batch lives here."""
        return f"{self.batches_dir}/ds={ds}"

    def manifest_uri(self, ds: str) -> str:
        return f"{self.partition(ds)}/{MANIFEST}"

    def data_uri(self, ds: str, content_hash: str) -> str:
        return f"{self.partition(ds)}/data-{content_hash[:16]}.parquet"

    def validation_dir(self, ds: str) -> str:
        return f"{self.partition(ds)}/validation"

    def validation_result_uri(self, ds: str) -> str:
        return f"{self.validation_dir(ds)}/result.json"

    def validation_docs_dir(self, ds: str) -> str:
        return f"{self.validation_dir(ds)}/docs"

    def validation_summary_uri(self, ds: str) -> str:
        return f"{self.validation_dir(ds)}/{SUMMARY}"

    def predictions_uri(self, ds: str) -> str:
        return f"{self.partition(ds)}/predictions/predictions.parquet"

    def drift_dir(self, ds: str) -> str:
        return f"{self.partition(ds)}/drift"

    def drift_html_uri(self, ds: str) -> str:
        return f"{self.drift_dir(ds)}/report.html"

    def drift_json_uri(self, ds: str) -> str:
        return f"{self.drift_dir(ds)}/report.json"

    def drift_summary_uri(self, ds: str) -> str:
        return f"{self.drift_dir(ds)}/{SUMMARY}"

    @property
    def commits_root(self) -> str:
        """The commit ledger (:mod:`core.commits`): outside ``batches/``, so deleting a partition
        leaves its record."""
        return self.lake.uri(self.pipeline, "commits")

    def commits_dir(self, ds: str) -> str:
        return f"{self.commits_root}/ds={ds}"

    @property
    def quarantine_root(self) -> str:
        """Where ingest keeps the raw files it refused, one folder per interval."""
        return self.lake.uri(self.pipeline, "quarantine")

    def quarantine_dir(self, ds: str) -> str:
        """Raw files ingest refused, each with ``reason.json`` beside it."""
        return f"{self.quarantine_root}/ds={ds}"

    def model_dir(self, run_key: str) -> str:
        return self.lake.uri(self.pipeline, "models", run_dir_name(run_key))

    def holdout_uri(self, run_key: str) -> str:
        return f"{self.model_dir(run_key)}/holdout.parquet"

    def reference_uri(self, run_key: str) -> str:
        return f"{self.model_dir(run_key)}/reference.parquet"

    def lock_dir(self, name: str) -> str:
        """A lock of this pipeline (see ``core.lock``), e.g. ``champion`` for every move of the alias."""
        return self.lake.uri(self.pipeline, "locks", name)

    def report_uri(self, ds: str, path: str) -> str | None:
        """The URI of a report file of ``ds`` (under ``drift/`` or ``validation/``), or None for any
        other path, however encoded (checked after decoding)."""
        parts = path.split("/")
        if (
            not _DS.match(ds)
            or len(parts) < 2
            or parts[0] not in ("drift", "validation")
            or any(p in ("", ".", "..") or not _SAFE_PART.match(p) for p in parts)
        ):
            return None
        return f"{self.partition(ds)}/{path}"

    def quarantined(self) -> list[dict[str, Any]]:
        """Refused raw files, newest interval first: each reason.json with its interval."""
        root = self.quarantine_root
        out = []
        for name in reversed(self.lake.listdir(root)):
            reason = self.lake.read_json_or_none(f"{root}/{name}/reason.json")
            if name.startswith("ds=") and reason:
                out.append({"ds": name[3:], **reason})
        return out

    # --- snapshots ------------------------------------------------------------------------------
    def batches(self) -> list[str]:
        """Interval dates (YYYY-MM-DD) that have a partition, oldest first."""
        names = self.lake.listdir(self.batches_dir)
        return sorted(n.removeprefix("ds=") for n in names if n.startswith("ds="))

    def manifest(self, ds: str) -> dict[str, Any] | None:
        """The committed manifest of an interval, or None if it was never ingested."""
        found: dict[str, Any] | None = self.lake.read_json_or_none(self.manifest_uri(ds))
        return found

    def committed_manifest(self, ds: str) -> dict[str, Any]:
        """The committed manifest, or DataNotFoundError naming the partition."""
        m = self.manifest(ds)
        if m is None:
            raise DataNotFoundError(
                f"{self.partition(ds)}: interval {ds} of {self.pipeline} was never ingested"
            )
        return m

    def snapshot_uri(self, ds: str, manifest: dict[str, Any] | None = None) -> str:
        """The data file the manifest (by default the committed one) points at."""
        m = manifest or self.committed_manifest(ds)
        return f"{self.partition(ds)}/{m['data']}"

    # --- validation -----------------------------------------------------------------------------
    def validation(self, ds: str) -> dict[str, Any] | None:
        """The latest validation summary of an interval, or None if it was never validated."""
        found: dict[str, Any] | None = self.lake.read_json_or_none(self.validation_summary_uri(ds))
        return found

    def is_validated(self, ds: str) -> bool:
        """Whether the latest validation passed for the snapshot committed now (a re-ingest makes it stale)."""
        return self.why_not_validated(ds) is None

    def why_not_validated(self, ds: str) -> str | None:
        """None when ``ds``'s committed snapshot passed its latest validation, else why not: the one
        answer every reader gives about a batch that must not drive the loop."""
        return self.judge(ds, self.manifest(ds), self.validation(ds))

    def judge(self, ds: str, m: dict[str, Any] | None, s: dict[str, Any] | None) -> str | None:
        """``why_not_validated`` of a manifest and a validation summary the caller already read."""
        if m is None:
            reason = self.lake.read_json_or_none(f"{self.quarantine_dir(ds)}/reason.json")
            if reason:
                return f"quarantined at ingest ({reason.get('reason')})"
            return "never ingested (no committed snapshot)"
        if s is None:
            return "never validated"
        if s.get("snapshot_hash") != m.get("content_hash"):
            return (
                f"not validated: its validation was of snapshot {str(s.get('snapshot_hash'))[:16]}, "
                f"not of the one committed now ({str(m.get('content_hash'))[:16]})"
            )
        if not s.get("success"):
            failed = s.get("failed") or []
            cols = sorted({str(f.get("column")) for f in failed if f.get("column")})
            on = f" on {', '.join(cols)}" if cols else ""
            status = s.get("status") or "failed"
            return f"{'quarantined' if status == 'quarantined' else 'failed'} by validation ({len(failed)} expectation(s) failed{on})"
        return None

    def require_validated(self, ds: str, doing: str) -> dict[str, Any]:
        """The committed manifest of a batch that passed validation, or NotValidatedError naming what
        was refused (``doing``) and why."""
        m = self.manifest(ds)
        why = self.judge(ds, m, self.validation(ds))
        if why is None and m is not None:
            return m
        snap = self.snapshot_uri(ds, m) if m else self.partition(ds)
        raise NotValidatedError(
            f"{self.pipeline} interval {ds} (snapshot {snap}) is {why}: refused to {doing}; only a batch "
            "that passed validation is scored or monitored",
            pipeline=self.pipeline,
            ds=ds,
            status=str(why),
        )

    def validated_batches(self) -> list[str]:
        """Intervals (oldest first) whose latest validation passed for the snapshot committed now."""
        return [ds for ds in self.batches() if self.is_validated(ds)]

    # --- predictions ----------------------------------------------------------------------------
    def unscored_batches(self) -> list[str]:
        """Validated intervals newer than the newest scored one (oldest first): the monitor adds them, as
        an event can be folded away. Empty before anything was scored: no accidental back-fill."""
        found: list[str] = []
        for ds in reversed(self.batches()):
            if self.lake.exists(self.predictions_uri(ds)):
                return sorted(found)
            if self.is_validated(ds):
                found.append(ds)
        return []

    # --- drift ----------------------------------------------------------------------------------
    def drift(self, ds: str) -> dict[str, Any] | None:
        """The drift summary of one interval, or None if drift was never checked for it."""
        found: dict[str, Any] | None = self.lake.read_json_or_none(self.drift_summary_uri(ds))
        return found

    def why_drift_not_counted(
        self,
        ds: str,
        summary: dict[str, Any],
        read: tuple[dict[str, Any] | None, dict[str, Any] | None] | None = None,
    ) -> str | None:
        """None when a drift summary of ``ds`` is the pipeline's: its batch passed validation and the
        summary was made from the snapshot committed now (when it records which); otherwise why not.
        ``read``: the interval's manifest and validation summary when the caller already read them."""
        m, s = read if read is not None else (self.manifest(ds), self.validation(ds))
        why = self.judge(ds, m, s)
        if why is not None:
            return why
        measured, m = summary.get("snapshot_hash"), m or {}
        if measured and measured != m.get("content_hash"):
            return (
                f"measured on snapshot {str(measured)[:16]}, not on the one committed now "
                f"({str(m.get('content_hash'))[:16]})"
            )
        return None

    def counted_drift(self, ds: str) -> dict[str, Any] | None:
        """The drift summary of ``ds`` if it counts as the pipeline's (see ``why_drift_not_counted``)."""
        summary = self.drift(ds)
        if summary is None:
            return None
        return summary if self.why_drift_not_counted(ds, summary) is None else None

    def drift_record(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The newest drift summary that counts (see :meth:`why_drift_not_counted`), and the newer
        ones that do not, each with ``why``."""
        uncounted: list[dict[str, Any]] = []
        for ds in reversed(self.batches()):
            summary = self.drift(ds)
            if summary is None:
                continue
            why = self.why_drift_not_counted(ds, summary)
            if why is None:
                return summary, uncounted
            uncounted.append({"ds": ds, "drift_detected": summary.get("drift_detected"), "why": why})
        return None, uncounted

    def latest_drift(self) -> dict[str, Any] | None:
        """The newest drift summary that counts (see ``drift_record``)."""
        return self.drift_record()[0]
