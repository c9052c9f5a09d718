"""Drift distances from one pass over a batch, without running Evidently on it.

A :class:`Sketch` summarizes a column chunk by chunk: exact counts per value up to ``MAX_DISTINCT``
values, then a histogram of ``HIST_BINS`` widening bins (each value at its bin's mean). The
distances are the pieces of Evidently's DataDriftPreset (Wasserstein, Jensen-Shannon, PSI), equal to
its own from exact counts; methods.py says which method uses which. numpy and pyarrow only, lazily
(scipy.stats alone takes a second to import).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

Kind = Literal["num", "cat"]

MAX_DISTINCT = 100_000  # exact counts up to here (a few MB per column)
HIST_BINS = 1 << 16  # then a histogram: each value placed within range/65536 of where it is


@dataclass
class Sketch:
    """One column over every row seen: counts of values (or a histogram) and exact moments."""

    kind: Kind
    rows: int = 0
    missing: int = 0  # null, NaN or infinite: Evidently drops them before testing
    mean: float = 0.0  # of the usable values
    m2: float = 0.0  # sum of squared deviations from the mean (merged chunk by chunk: Chan et al.)
    low: float = float("inf")
    high: float = float("-inf")
    values: Any = None  # num: sorted unique floats (exact mode)
    counts: Any = None  # num: their counts
    labels: Counter[str] = field(default_factory=Counter)  # cat: counts per value
    capped: bool = False  # cat: more than MAX_DISTINCT values, counts incomplete
    hist: _Histogram | None = None  # num: histogram mode

    @property
    def n(self) -> int:
        """Rows with a usable value."""
        return self.rows - self.missing

    def add(self, arr: pa.Array | pa.ChunkedArray) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        before = self.n
        self.rows += len(arr)
        if self.kind == "cat":
            self.missing += arr.null_count
            if self.capped:
                return
            vc = pc.value_counts(arr.cast(pa.string()))
            values, counts = vc.field("values").to_pylist(), vc.field("counts").to_pylist()
            self.labels.update({v: c for v, c in zip(values, counts, strict=True) if v is not None})
            self.capped = len(self.labels) > MAX_DISTINCT
            return
        x = _floats(arr)
        x = x[np.isfinite(x)]
        self.missing += len(arr) - len(x)
        if not len(x):
            return
        mean = float(x.mean())
        delta = mean - self.mean
        self.mean += delta * len(x) / self.n
        self.m2 += float(np.square(x - mean).sum()) + delta * delta * before * len(x) / self.n
        self.low, self.high = min(self.low, float(x.min())), max(self.high, float(x.max()))
        if self.hist is not None:
            self.hist.add(x, np.ones(len(x)))
            return
        vc = pc.value_counts(pa.array(x))  # hashing: np.unique's sort is slower at millions of rows
        v, c = vc.field("values").to_numpy(), vc.field("counts").to_numpy()
        if self.values is not None:
            v, c = np.concatenate([self.values, v]), np.concatenate([self.counts, c])
        v, inverse = np.unique(v, return_inverse=True)  # sorted, and merged with earlier chunks
        c = np.bincount(inverse, weights=c).astype(np.int64)
        self.values, self.counts = v, c
        if len(v) > MAX_DISTINCT:
            self.hist = _Histogram()
            self.hist.add(v, c.astype(np.float64))
            self.values = self.counts = None

    def atoms(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, weights): exact values and counts, or each histogram bin's mean and count."""
        import numpy as np

        if self.hist is not None:
            return self.hist.atoms()
        if self.values is None:
            return np.empty(0), np.empty(0)
        return self.values, self.counts.astype(np.float64)

    def distinct(self) -> int:
        """Distinct values (a lower bound once capped or in histogram mode)."""
        if self.kind == "cat":
            return len(self.labels)
        if self.hist is not None:
            return MAX_DISTINCT + 1
        return 0 if self.values is None else len(self.values)

    def union(self, other: Sketch) -> np.ndarray | None:
        """Distinct numbers of both sides, when both are exact."""
        import numpy as np

        if self.hist is not None or other.hist is not None or self.values is None or other.values is None:
            return None
        return np.union1d(self.values, other.values)

    def stats(self) -> dict[str, Any]:
        """Exact statistics for the drift summary: rows, missing, and moments or the top values."""
        out: dict[str, Any] = {"rows": self.rows, "missing": self.missing}
        if self.kind == "num" and self.n:
            out |= {"min": self.low, "max": self.high, "mean": self.mean, "std": self.std()}
        elif self.kind == "cat":
            out |= {"distinct": len(self.labels), "top": dict(self.labels.most_common(10))}
            if self.capped:
                out["distinct_at_least"] = True
        return out

    def std(self) -> float:
        """Population standard deviation (numpy's default, as Evidently norms by)."""
        return float((self.m2 / self.n) ** 0.5)


class _Histogram:
    """HIST_BINS equal bins over ``[lo, lo + width * HIST_BINS)``, doubling the width to take in
    any value outside; each bin keeps its count and the sum of its values."""

    def __init__(self) -> None:
        import numpy as np

        self.lo = 0.0
        self.width = 0.0
        self.count = np.zeros(HIST_BINS)
        self.sums = np.zeros(HIST_BINS)

    def add(self, x: np.ndarray, w: np.ndarray) -> None:
        import numpy as np

        lo, hi = float(x.min()), float(x.max())
        if self.width == 0.0:
            self.lo, self.width = (
                lo,
                (hi - lo) / (HIST_BINS - 1) if hi > lo else max(abs(lo), 1.0) / HIST_BINS,
            )
        while lo < self.lo:  # the old bins become the upper half
            self._merge(upper=True)
        while hi >= self.lo + self.width * HIST_BINS:  # the old bins become the lower half
            self._merge(upper=False)
        idx = np.clip(((x - self.lo) / self.width).astype(np.int64), 0, HIST_BINS - 1)
        self.count += np.bincount(idx, weights=w, minlength=HIST_BINS)
        self.sums += np.bincount(idx, weights=w * x, minlength=HIST_BINS)

    def _merge(self, upper: bool) -> None:
        import numpy as np

        half = HIST_BINS // 2
        part = slice(half, None) if upper else slice(half)
        for name in ("count", "sums"):
            new = np.zeros(HIST_BINS)
            new[part] = getattr(self, name).reshape(half, 2).sum(axis=1)
            setattr(self, name, new)
        if upper:
            self.lo -= self.width * HIST_BINS
        self.width *= 2

    def atoms(self) -> tuple[np.ndarray, np.ndarray]:
        used = self.count > 0
        return self.sums[used] / self.count[used], self.count[used]


def _floats(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """float64 with NaN for missing; times as seconds since the epoch, booleans as 0/1."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        arr = pc.divide(pc.cast(pc.cast(arr, pa.timestamp("us")), pa.int64()).cast(pa.float64()), 1e6)
    elif pa.types.is_boolean(t):
        arr = arr.cast(pa.int8())
    out: np.ndarray = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    return out


def declared_kind(declared: str | None) -> Kind | None:
    """The kind of a schema type (``schema.columns``); None for a column the schema does not type."""
    if declared in ("int", "float", "datetime", "date"):
        return "num"
    return "cat" if declared in ("string", "category", "bool") else None


def kind_of(declared: str | None, arrow_type: pa.DataType) -> Kind:
    """Numerical or categorical: the pipeline's declared type first, the data's type otherwise."""
    import pyarrow as pa

    t = arrow_type  # booleans and dictionaries are categories
    numeric = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_temporal(t)
    return declared_kind(declared) or ("num" if numeric else "cat")


def wasserstein_distance(u: np.ndarray, uw: np.ndarray, v: np.ndarray, vw: np.ndarray) -> float:
    """First Wasserstein distance of two weighted samples: the area between their CDFs (as
    ``scipy.stats.wasserstein_distance``, without importing scipy.stats: a second per process)."""
    import numpy as np

    u_order, v_order = np.argsort(u), np.argsort(v)
    points = np.sort(np.concatenate([u, v]))
    deltas = np.diff(points)
    u_cum = np.concatenate([[0.0], np.cumsum(uw[u_order])])
    v_cum = np.concatenate([[0.0], np.cumsum(vw[v_order])])
    u_cdf = u_cum[np.searchsorted(u[u_order], points[:-1], "right")] / u_cum[-1]
    v_cdf = v_cum[np.searchsorted(v[v_order], points[:-1], "right")] / v_cum[-1]
    return float(np.sum(np.abs(u_cdf - v_cdf) * deltas))


def jensenshannon_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance, natural logarithm (``scipy.spatial.distance.jensenshannon``)."""
    import numpy as np

    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2.0

    def rel_entr(x: np.ndarray) -> float:
        used = x > 0
        return float(np.sum(x[used] * np.log(x[used] / m[used])))

    return float(np.sqrt((rel_entr(p) + rel_entr(q)) / 2.0))


def binned_shares(ref: Sketch, cur: Sketch, fill_zeroes: bool) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's ``get_binned_data``: Sturges bins over both sides for numbers with more than 20
    reference values, shares per value otherwise; ``fill_zeroes`` gives empty bins a tiny share
    (for PSI: its logarithm stays finite)."""
    import numpy as np

    if ref.kind == "num" and ref.distinct() > 20:
        edges = _sturges_edges(min(ref.low, cur.low), max(ref.high, cur.high), ref.n + cur.n)
        p, q = (np.histogram(v, bins=edges, weights=w)[0] for v, w in (ref.atoms(), cur.atoms()))
    elif ref.kind == "cat":
        labels = sorted(set(ref.labels) | set(cur.labels))
        p = np.array([ref.labels.get(k, 0) for k in labels], dtype=np.float64)
        q = np.array([cur.labels.get(k, 0) for k in labels], dtype=np.float64)
    else:
        rv, rw = ref.atoms()
        cv, cw = cur.atoms()
        keys = np.union1d(rv, cv)
        p, q = np.zeros(len(keys)), np.zeros(len(keys))
        np.add.at(p, np.searchsorted(keys, rv), rw)
        np.add.at(q, np.searchsorted(keys, cv), cw)
    p, q = p / ref.n, q / cur.n
    if fill_zeroes:
        for a in (p, q):
            smallest = a[a != 0].min()
            a[a == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return p, q


def _sturges_edges(low: float, high: float, n: int) -> np.ndarray:
    """``np.histogram_bin_edges(data, bins="sturges")`` from the data's range and size alone."""
    import numpy as np

    if low == high:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / (np.log2(n) + 1.0)
    bins = int(np.ceil((high - low) / width)) if width else 1
    return np.linspace(low, high, bins + 1, endpoint=True)


def psi_of_shares(p: np.ndarray, q: np.ndarray) -> float:
    """Population stability index of two share vectors without zeroes (Evidently's formula)."""
    import numpy as np

    return float(np.sum((p - q) * np.log(p / q)))
