"""Drift methods, each declared once, with Evidently's names and facts (its ``register_stattest``
calls; test_methods.py checks this table against them): config checks, the report reader and the
whole-batch verdicts all read it. A method with a ``summary`` is computed here over every row from
sketches; the others need the rows and are left to the report, on a sample. numpy only, lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.model.modeling import PREDICTION
from airflow_mlops.core.monitor.sketch import (
    Kind,
    Sketch,
    binned_shares,
    declared_kind,
    jensenshannon_distance,
    psi_of_shares,
    wasserstein_distance,
)

#: From two summaries (reference, current) of one column over every row, the method's number.
Summary = Callable[[Sketch, Sketch], float]
Score = Literal["distance", "p_value"]


@dataclass(frozen=True)
class DriftMethod:
    """One drift test as Evidently registers it, plus the direction of its threshold."""

    name: str  # as configured (``drift.method``) and as Evidently registers it
    display_name: str  # as Evidently writes it in a report
    kinds: frozenset[Kind]
    score: Score  # a distance drifts when large, a p-value when small
    default_threshold: float
    at_threshold_drifts: bool  # whether a score equal to the threshold counts as drift (per Evidently)
    summary: Summary | None = None  # computed from sketches over every row; None: the report decides

    def drifted(self, score: float, threshold: float | None = None) -> bool:
        """Evidently's decision for ``score`` against ``threshold`` (the default when None)."""
        t = self.default_threshold if threshold is None else threshold
        if score == t:
            return self.at_threshold_drifts
        return score > t if self.score == "distance" else score < t


METHODS: dict[str, DriftMethod] = {}


def register(
    name: str,
    display_name: str,
    kinds: Iterable[Kind],
    score: Score,
    default_threshold: float,
    *,
    summary: Summary | None = None,
    at_threshold_drifts: bool | None = None,
) -> DriftMethod:
    """Declare a method (compare Evidently's ``register_stattest``); a name is declared once."""
    if name in METHODS:
        raise ValueError(f"drift method {name!r} is declared twice")
    at = score == "distance" if at_threshold_drifts is None else at_threshold_drifts
    METHODS[name] = DriftMethod(name, display_name, frozenset(kinds), score, default_threshold, at, summary)
    return METHODS[name]


def _wasserstein_norm(ref: Sketch, cur: Sketch) -> float:
    """Evidently's normed Wasserstein: the distance over the reference's standard deviation."""
    return wasserstein_distance(*ref.atoms(), *cur.atoms()) / max(ref.std(), 0.001)


def _jensenshannon(ref: Sketch, cur: Sketch) -> float:
    return jensenshannon_distance(*binned_shares(ref, cur, fill_zeroes=False))


def psi(ref: Sketch, cur: Sketch) -> float:
    """The population stability index, binned as Evidently bins it; the only PSI (signals use it)."""
    return psi_of_shares(*binned_shares(ref, cur, fill_zeroes=True))


NUM: frozenset[Kind] = frozenset({"num"})
CAT: frozenset[Kind] = frozenset({"cat"})
BOTH: frozenset[Kind] = NUM | CAT

# Computed here over every row (Evidently's defaults for columns past 1,000 reference rows, and PSI).
register("wasserstein", "Wasserstein distance (normed)", NUM, "distance", 0.1, summary=_wasserstein_norm)
register("jensenshannon", "Jensen-Shannon distance", BOTH, "distance", 0.1, summary=_jensenshannon)
register("psi", "PSI", BOTH, "distance", 0.1, summary=psi)
# Left to the report: they need the rows themselves.
register("kl_div", "Kullback-Leibler divergence", BOTH, "distance", 0.1)
register("hellinger", "Hellinger distance", BOTH, "distance", 0.1)
register("ed", "Energy-distance", NUM, "distance", 0.1, at_threshold_drifts=False)
register("ks", "K-S p_value", NUM, "p_value", 0.05, at_threshold_drifts=True)
register("cramer_von_mises", "Cramer-von Mises", NUM, "p_value", 0.1, at_threshold_drifts=True)
register("anderson", "Anderson-Darling", NUM, "p_value", 0.1)
register("es", "Epps-Singleton", NUM, "p_value", 0.05)
register("mannw", "Mann-Whitney U-rank test", NUM, "p_value", 0.05)
register("t_test", "t_test", NUM, "p_value", 0.05)
register("empirical_mmd", "empirical_mmd", NUM, "p_value", 0.1)
register("chisquare", "chi-square p_value", CAT, "p_value", 0.05)
register("z", "Z-test p_value", CAT, "p_value", 0.05)
register("fisher_exact", "Fisher's Exact test", CAT, "p_value", 0.1)
register("g_test", "g_test", CAT, "p_value", 0.1)
register("TVD", "Total-Variation-Distance", CAT, "p_value", 0.1)


def find(name: str) -> DriftMethod | None:
    """The method called ``name`` (its configured name or Evidently's display name), or None."""
    return METHODS.get(name) or next((m for m in METHODS.values() if m.display_name == name), None)


def evidently_choice(ref: Sketch, cur: Sketch) -> str | None:
    """The test DataDriftPreset picks when none is configured; None when it is a p-value test
    (references of 1,000 rows or fewer), which needs the rows."""
    if ref.n <= 1000:
        return None
    if ref.kind == "cat":
        return "jensenshannon"
    union = ref.union(cur)
    return "jensenshannon" if union is not None and len(union) <= 5 else "wasserstein"


@dataclass(frozen=True)
class Verdict:
    method: str
    score: float
    threshold: float
    drifted: bool


def verdict(ref: Sketch, cur: Sketch, configured: str | None, threshold: float | None) -> Verdict | None:
    """The column's test over every row, or None when it must come from the report (a method
    without a summary, a column without values on one side, categories past MAX_DISTINCT)."""
    if not ref.n or not cur.n or ref.capped or cur.capped:
        return None
    name = configured if configured is not None else evidently_choice(ref, cur)
    method = None if name is None else METHODS.get(name)
    if method is None or method.summary is None:
        return None
    score = method.summary(ref, cur)
    limit = method.default_threshold if threshold is None else threshold
    return Verdict(method.name, score, limit, method.drifted(score, limit))


_WORDS: dict[Kind, str] = {"num": "numerical", "cat": "categorical"}


def check_config(cfg: PipelineConfig, kinds: dict[str, Kind], tested: list[str]) -> None:
    """Every configured method exists and fits the kind of each column it tests (wasserstein,
    ks... are numeric only); one ConfigError naming each field, method and column at fault."""
    per_column = {c: p.method for c, p in cfg.drift.per_column.items() if p.method}
    checks: list[tuple[str, str, list[str]]] = [
        (f"drift.per_column.{c}.method", m, [c]) for c, m in per_column.items() if c in tested
    ]
    if cfg.drift.method:
        checks.append(("drift.method", cfg.drift.method, [c for c in tested if c not in per_column]))
    problems = []
    for field, name, cols in checks:
        method = METHODS.get(name)
        for kind, word in _WORDS.items():
            columns = [c for c in cols if kinds[c] == kind]
            if not columns or (method is not None and kind in method.kinds):
                continue
            why = (
                f"it tests {_WORDS[next(iter(method.kinds))]} columns only"
                if method is not None
                else f"no drift method of that name; known: {', '.join(sorted(METHODS))}"
            )
            problems.append(
                f"{cfg.name}: {field} {name!r} cannot test the {word} column(s) {columns} ({why}); "
                f"{', '.join(m.name for m in METHODS.values() if m.kinds == BOTH)} work for both kinds"
            )
            break
    if problems:
        raise ConfigError("\n".join(problems))


def label_kind(cfg: PipelineConfig) -> Kind:
    """The kind of the target and the prediction: classes are categories."""
    return "cat" if cfg.data_schema.task == "classification" else "num"


def check_methods(cfg: PipelineConfig) -> None:
    """:func:`check_config` before any data, kinds from the schema (``airflow-mlops check``)."""
    kinds = {c: declared_kind(cfg.data_schema.columns[c]) or "cat" for c in cfg.drift_columns}
    check_config(cfg, {**kinds, PREDICTION: label_kind(cfg)}, [*cfg.drift_columns, PREDICTION])
