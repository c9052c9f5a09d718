"""Monitoring signals beside covariate drift: prediction drift, prior shift, realized performance.

Covariate drift cannot see the same inputs come to mean something else; labels can, but often
arrive late, in a later batch, matched on a key (``monitor.labels``). So each batch also gets the
PSI of the champion's predictions and of the arrived labels against its training window, and the
gate metric on labelled rows joined to the predictions made when they were scored. Enabled signals
past their threshold (``monitor.triggers``) ask for a retrain, and the reason names them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, ThresholdTriggerConfig
from airflow_mlops.core.foundation.errors import DataContractError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.model.modeling import PREDICTION, PROBABILITY, compute_metrics, target_series
from airflow_mlops.core.monitor.methods import label_kind, psi
from airflow_mlops.core.monitor.sketch import Kind, Sketch

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

COVARIATE: Final = "covariate_drift"
PREDICTION_DRIFT: Final = "prediction_drift"
PRIOR_SHIFT: Final = "prior_shift"
PERFORMANCE: Final = "performance"


@dataclass(frozen=True)
class Signal:
    """One signal of one batch: ``fired`` only when it is enabled and past its threshold."""

    name: str
    enabled: bool
    value: float | None
    threshold: float | None
    fired: bool
    rows: int = 0
    note: str | None = None
    reference: float | None = None  # performance: the champion's held-out score
    metric: str | None = None  # performance: the gate metric it is measured in


@dataclass(frozen=True)
class Labels:
    """The labels a batch brought, and how many of them found the prediction they judge."""

    arrive: str
    rows: int  # labelled rows in the batch
    matched: int  # of those, joined to a prediction (all of them for same_batch)
    unmatched: int  # no prediction within max_delay_batches (or never scored)
    batches: list[str] = field(default_factory=list)  # the intervals whose predictions were joined


@dataclass(frozen=True)
class Signals:
    signals: dict[str, Signal]
    labels: Labels

    @property
    def fired(self) -> list[str]:
        return [n for n, s in self.signals.items() if s.fired]

    @property
    def retrain(self) -> bool:
        return bool(self.fired)

    def to_dict(self) -> dict[str, Any]:
        return {n: asdict(s) for n, s in self.signals.items()}


def sample_psi(kind: Kind, reference: Any, current: Any) -> float:
    """:func:`~airflow_mlops.core.monitor.methods.psi` of two samples (numbers: NaN and infinities
    dropped; categories: compared as strings)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    ref, cur = Sketch(kind), Sketch(kind)
    for sketch, values in ((ref, reference), (cur, current)):
        if kind == "num":
            sketch.add(pa.array(np.asarray(values, dtype=float), pa.float64()))
        else:
            sketch.add(pa.array(pd.Series(values).astype(str).tolist(), pa.string()))
    if not ref.n or not cur.n:
        raise ValueError(f"PSI needs values on both sides (reference {ref.n}, current {cur.n})")
    return psi(ref, cur)


def _psi_signal(name: str, trig: ThresholdTriggerConfig, value: float, rows: int) -> Signal:
    return Signal(name, trig.enabled, value, trig.threshold, trig.enabled and value >= trig.threshold, rows)


def prediction_drift(cfg: PipelineConfig, reference: pd.DataFrame, current: pd.DataFrame) -> Signal:
    """The champion's predictions on the batch against those on its training window: the positive
    class's probability for binary classifiers, else the predicted class or value."""
    trig = cfg.monitor.triggers.prediction_drift
    col = PROBABILITY if PROBABILITY in reference and PROBABILITY in current else PREDICTION
    if any(col not in df or not df[col].notna().any() for df in (reference, current)):
        return Signal(PREDICTION_DRIFT, trig.enabled, None, trig.threshold, False, 0, "no predictions")
    cur = current[col].dropna()
    kind = label_kind(cfg) if col == PREDICTION else "num"
    return _psi_signal(PREDICTION_DRIFT, trig, sample_psi(kind, reference[col].dropna(), cur), len(cur))


def prior_shift(cfg: PipelineConfig, reference: pd.DataFrame, labels: pd.Series) -> Signal:
    """The arrived labels' distribution against the training window's."""
    trig = cfg.monitor.triggers.prior_shift
    n = int(labels.notna().sum())
    minimum = cfg.monitor.labels.min_rows
    if n < minimum:
        note = f"{n} labelled rows, fewer than monitor.labels.min_rows ({minimum})"
        return Signal(PRIOR_SHIFT, trig.enabled, None, trig.threshold, False, n, note)
    ref, cur = reference[cfg.data_schema.target].dropna(), labels.dropna()
    if cfg.data_schema.task == "classification":  # as the model learned them, compared as strings
        ref, cur = _truth(cfg, ref), _truth(cfg, cur)
    return _psi_signal(PRIOR_SHIFT, trig, sample_psi(label_kind(cfg), ref, cur), n)


def _truth(cfg: PipelineConfig, s: pd.Series) -> pd.Series:
    """Labels in the form the model learned them (:func:`target_series`). A bool column read back
    with missing values is an object column of ``True``/``False``: made bool again first, so that
    ``True`` is class 1 here as it was at training."""
    s = s.dropna()
    if s.dtype == object and len(s) and all(isinstance(v, bool) or type(v).__name__ == "bool_" for v in s):
        s = s.astype(bool)
    return target_series(cfg, s.to_frame(cfg.data_schema.target))


def performance(cfg: PipelineConfig, joined: pd.DataFrame, champion_score: float | None) -> Signal:
    """The gate metric on labelled rows joined to their predictions, against ``max_drop`` below the
    champion's held-out score or against ``floor``."""
    trig = cfg.monitor.triggers.performance
    metric, higher = cfg.gate.metric, cfg.gate.higher_is_better
    bounds = []
    if trig.max_drop is not None and champion_score is not None:
        bounds.append(champion_score - trig.max_drop if higher else champion_score + trig.max_drop)
    if trig.floor is not None:
        bounds.append(trig.floor)
    # The strictest bound: the highest floor when higher is better, the lowest ceiling otherwise.
    bound = (max(bounds) if higher else min(bounds)) if bounds else None
    n = len(joined)
    minimum = cfg.monitor.labels.min_rows
    if n < minimum:
        note = f"{n} labelled rows, fewer than monitor.labels.min_rows ({minimum})"
        return Signal(PERFORMANCE, trig.enabled, None, bound, False, n, note, champion_score, metric)
    joined = joined[joined[cfg.data_schema.target].notna()]
    y_score = joined[PROBABILITY].to_numpy() if PROBABILITY in joined else None
    y_true = _truth(cfg, joined[cfg.data_schema.target])
    y_pred = joined[PREDICTION]
    if cfg.data_schema.task == "classification":
        y_pred = y_pred.astype(y_true.dtype) if y_true.dtype.kind in "iu" else y_pred.astype(str)
    found = compute_metrics(cfg, y_true, y_pred, y_score, [metric])
    if metric not in found:
        note = f"{metric} cannot be computed on these {n} rows (one class only?)"
        return Signal(PERFORMANCE, trig.enabled, None, bound, False, n, note, champion_score, metric)
    value = found[metric]
    worse = bound is not None and (value < bound if higher else value > bound)
    return Signal(
        PERFORMANCE, trig.enabled, value, bound, trig.enabled and worse, n, None, champion_score, metric
    )


def covariate(cfg: PipelineConfig, drift_share: float, drift_detected: bool, rows: int) -> Signal:
    """Today's trigger, as a signal: the share of drifted monitored columns, over ``rows`` rows."""
    enabled = cfg.monitor.triggers.covariate_drift.enabled
    return Signal(COVARIATE, enabled, drift_share, cfg.drift.threshold, enabled and drift_detected, rows)


# --- labels: which arrived, and which prediction each judges --------------------------------
def _read(lake: Lake, uri: str, wanted: list[str]) -> pd.DataFrame:
    with lake.open_parquet(uri) as pf:
        return pf.read(columns=[c for c in wanted if c in pf.schema_arrow.names]).to_pandas()


def arrived_labels(
    cfg: PipelineConfig, lake: Lake, ds: str, scored: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, Labels]:
    """The batch's labelled rows, and those rows joined to the prediction that judged them: in the
    batch's own predictions (``same_batch``), or (``later``) matched on ``monitor.labels.key`` to
    unlabelled rows of the ``max_delay_batches`` scored batches before it, the newest prediction of
    a key winning; an unmatched label is counted, not judged. ``scored``: the batch's predictions
    when they were never written to the lake (a report built on a frame)."""
    import pandas as pd

    lab = cfg.monitor.labels
    target = cfg.data_schema.target
    cat = Catalog(lake, cfg.name)
    wanted = list(dict.fromkeys([*lab.key, target, PREDICTION, PROBABILITY]))
    uri = cat.predictions_uri(ds)
    if lake.exists(uri) or scored is None:
        current = _read(lake, uri, wanted)
        missing = [c for c in lab.key if c not in current]
        if missing and lab.arrive == "later":
            raise DataContractError(
                f"{uri}: monitor.labels.key column(s) {missing} are missing from the predictions; "
                "score the batch again (scoring keeps the key columns)"
            )
    else:
        current = scored[[c for c in wanted if c in scored]].copy()
    if target not in current:
        current[target] = pd.Series([None] * len(current), dtype=object)
    labelled = current[current[target].notna()]
    if lab.arrive == "same_batch":
        info = Labels(lab.arrive, len(labelled), len(labelled), 0, [ds] if len(labelled) else [])
        return labelled, labelled, info
    earlier = [d for d in cat.batches() if d < ds and lake.exists(cat.predictions_uri(d))]
    window = earlier[-lab.max_delay_batches :]
    frames = []
    for d in window:
        f = _read(lake, cat.predictions_uri(d), wanted)
        if any(c not in f for c in lab.key):  # scored before the key was configured
            log.warning(
                "%s: predictions of %s lack the key %s; its rows cannot be matched", cfg.name, d, lab.key
            )
            continue
        if target in f:  # a row that came with its label was not waiting for one
            f = f[f[target].isna()].drop(columns=target)
        f["_scored"] = d
        frames.append(f)
    if not frames or labelled.empty:
        return labelled, labelled.iloc[0:0], Labels(lab.arrive, len(labelled), 0, len(labelled), window)
    scored = pd.concat(frames, ignore_index=True).sort_values("_scored").drop_duplicates(lab.key, keep="last")
    labels = labelled[[*lab.key, target]].drop_duplicates(lab.key, keep="last")
    joined = labels.merge(scored, on=lab.key, how="inner", validate="one_to_one")
    batches = sorted(joined["_scored"].unique().tolist())
    info = Labels(lab.arrive, len(labelled), len(joined), len(labels) - len(joined), batches)
    return labelled, joined.drop(columns="_scored"), info


def evaluate(
    cfg: PipelineConfig,
    lake: Lake,
    ds: str,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    champion_score: float | None,
    drift_share: float,
    drift_detected: bool,
    batch_rows: int | None = None,
) -> Signals:
    """Every signal of batch ``ds``: ``current`` holds its predictions (a sample will do),
    ``reference`` the scoring version's; ``batch_rows``: the rows the covariate decision covered."""
    labelled, joined, info = arrived_labels(cfg, lake, ds, current)
    found = [
        covariate(cfg, drift_share, drift_detected, len(current) if batch_rows is None else batch_rows),
        prediction_drift(cfg, reference, current),
        prior_shift(cfg, reference, labelled[cfg.data_schema.target]),
        performance(cfg, joined, champion_score),
    ]
    return Signals({s.name: s for s in found}, info)


def describe(ds: str, sig: Signal, drifted_columns: list[str] | None = None) -> str:
    """A fired signal in words, as the retrain reason gives it."""
    if sig.name == COVARIATE:
        cols = f": {', '.join(drifted_columns)}" if drifted_columns else ""
        return (
            f"drift on {ds}: {float(sig.value or 0):.0%} of monitored columns drifted "
            f"(threshold {float(sig.threshold or 0):.0%}){cols}"
        )
    if sig.name == PERFORMANCE:
        worse = "<" if (sig.threshold or 0) > (sig.value or 0) else ">"
        return (
            f"performance on {ds}: {sig.metric} {float(sig.value or 0):.4f} {worse} "
            f"{float(sig.threshold or 0):.4f} on {sig.rows} labelled rows"
        )
    return f"{sig.name} on {ds}: PSI {float(sig.value or 0):.3f} >= {float(sig.threshold or 0):g}"


def retrain_reason(ds: str, signals: Signals, drifted_columns: list[str] | None = None) -> str | None:
    """Why a retrain is asked for, naming each fired signal; None when nothing fired."""
    parts = [describe(ds, signals.signals[n], drifted_columns) for n in signals.fired]
    return "; ".join(parts) or None
