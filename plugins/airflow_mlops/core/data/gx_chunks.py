"""One Great Expectations result for a snapshot validated in chunks of rows.

GX's pandas engine holds the whole batch in memory (about 1 GB per million flights rows), so a
large snapshot is validated a chunk at a time by GX itself, and the results are merged here into
what GX would have given for the whole: counts summed, percentages and ``success`` recomputed by
GX's rules, row counts and non-null shares over every row; rows repeated across chunks are
counted from row hashes. Only a suite whose every expectation merges exactly (:data:`MERGEABLE`,
column map expectations) is split.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from airflow_mlops.core.data.suite import COMPOUND_UNIQUE, NON_NULL_SHARE, ROW_COUNT

#: Aggregate expectations whose whole-batch result follows from the chunks' results.
MERGEABLE = {ROW_COUNT, NON_NULL_SHARE, "expect_table_columns_to_match_set", "expect_column_to_exist"}
#: Map expectations whose verdict on a row depends on other rows: chunks cannot see across.
CROSS_ROW = {
    "expect_column_values_to_be_unique",
    "expect_multicolumn_values_to_be_unique",
    "expect_column_values_to_be_increasing",
    "expect_column_values_to_be_decreasing",
}
PARTIAL = 20  # GX's partial_unexpected_count in the SUMMARY format


def splittable(expectations: list[dict[str, Any]]) -> bool:
    """Whether a suite (``{"type", "kwargs"}`` dicts) can be validated chunk by chunk: every
    expectation mergeable, a row-wise map, or a compound-unique check of every row (hashed)."""
    for e in expectations:
        t = e["type"]
        if t == COMPOUND_UNIQUE:
            if e["kwargs"].get("ignore_row_if", "all_values_are_missing") != "never":
                return False
        elif t in CROSS_ROW or not (t in MERGEABLE or _is_map(t)):
            return False
    return True


def compound_columns(expectations: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The column lists whose repeated rows must be counted across chunks."""
    lists = (tuple(e["kwargs"]["column_list"]) for e in expectations if e["type"] == COMPOUND_UNIQUE)
    return list(dict.fromkeys(lists))


def _is_map(etype: str) -> bool:
    """Column (pair, multicolumn) map expectations: one verdict per row, so their counts add up."""
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        impl = get_expectation_impl(etype)
    except Exception:
        return False
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    return issubclass(impl, ColumnMapExpectation | ColumnPairMapExpectation | MulticolumnMapExpectation)


def merge(parts: list[Any], chunk_rows: list[int], duplicated: dict[tuple[str, ...], int]) -> Any:
    """The first chunk's ``ExpectationSuiteValidationResult``, its results made those of all chunks.

    ``chunk_rows``: rows of each chunk, in order; ``duplicated``: for each compound-unique column
    list, the rows whose values occur more than once in the whole snapshot (GX's keep=False)."""
    whole = parts[0]
    total = sum(chunk_rows)
    for i, evr in enumerate(whole.results):
        pieces = [p.results[i] for p in parts]
        failed = next((p for p in pieces if (p.exception_info or {}).get("raised_exception")), None)
        if failed is not None:
            whole.results[i] = failed
            continue
        etype = evr.expectation_config.type
        kwargs = evr.expectation_config.kwargs
        results = [p.result or {} for p in pieces]
        if etype == ROW_COUNT:
            evr.result = {**results[0], "observed_value": total}
            evr.success = _between(total, kwargs)
        elif etype == NON_NULL_SHARE:
            weighted = (float(r["observed_value"]) * n for r, n in zip(results, chunk_rows, strict=True))
            share = sum(weighted) / total
            evr.result = {**results[0], "observed_value": share}
            evr.success = _between(share, kwargs)
        elif "unexpected_count" in results[0]:
            unexpected = duplicated[tuple(kwargs["column_list"])] if etype == COMPOUND_UNIQUE else None
            evr.result, evr.success = _map_result(results, chunk_rows, kwargs, unexpected)
        else:  # the same verdict on every chunk (columns present): all must pass
            evr.success = all(p.success for p in pieces)
    done = [r.success for r in whole.results]
    whole.success = all(done)
    whole.statistics.update(
        evaluated_expectations=len(done),
        successful_expectations=sum(done),
        unsuccessful_expectations=len(done) - sum(done),
        success_percent=100.0 * sum(done) / len(done) if done else None,
    )
    return whole


def _between(value: float, kwargs: dict[str, Any]) -> bool:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and (value <= low if kwargs.get("strict_min") else value < low):
        return False
    return not (high is not None and (value >= high if kwargs.get("strict_max") else value > high))


def _map_result(
    results: list[dict[str, Any]], chunk_rows: list[int], kwargs: dict[str, Any], unexpected: int | None
) -> tuple[dict[str, Any], bool]:
    """Summed counts with GX's percentages (``_format_map_output``) and its ``mostly`` rule."""
    elements = sum(int(r.get("element_count") or 0) for r in results)
    missing = sum(int(r.get("missing_count") or 0) for r in results)
    if unexpected is None:
        unexpected = sum(int(r.get("unexpected_count") or 0) for r in results)
    considered = elements - missing
    out = dict(results[0])
    out.update(element_count=elements, unexpected_count=unexpected)
    if "missing_count" in out:
        out.update(missing_count=missing, missing_percent=missing / elements * 100 if elements else None)
    nonmissing_pct = unexpected / considered * 100 if considered else None
    out.update(
        unexpected_percent=nonmissing_pct,
        unexpected_percent_total=unexpected / elements * 100 if elements else None,
        unexpected_percent_nonmissing=nonmissing_pct,
    )
    if "partial_unexpected_list" in out:
        found = [v for r in results for v in r.get("partial_unexpected_list") or []]
        out["partial_unexpected_list"] = found[:PARTIAL]
    if "partial_unexpected_index_list" in out:  # row numbers of the snapshot, not of the chunk
        starts = [sum(chunk_rows[:k]) for k in range(len(chunk_rows))]
        out["partial_unexpected_index_list"] = [
            _offset(i, start)
            for r, start in zip(results, starts, strict=True)
            for i in r.get("partial_unexpected_index_list") or []
        ][:PARTIAL]
    if "partial_unexpected_counts" in out:
        counts: Counter[Any] = Counter()
        values: dict[Any, Any] = {}
        for r in results:
            for c in r.get("partial_unexpected_counts") or []:
                key = _hashable(c["value"])
                values.setdefault(key, c["value"])
                counts[key] += int(c["count"])
        out["partial_unexpected_counts"] = [
            {"value": values[k], "count": n} for k, n in counts.most_common(PARTIAL)
        ]
    mostly = float(kwargs.get("mostly") or 1.0)
    success = considered == 0 or (considered - unexpected) / considered >= mostly
    return out, success


def _offset(index: Any, start: int) -> Any:
    return index + start if isinstance(index, int) else index


def _hashable(value: Any) -> Any:
    return repr(sorted(value.items())) if isinstance(value, dict) else repr(value)


def duplicated_rows(hashes: list[Any]) -> int:
    """Rows whose 64-bit row hash occurs more than once (hashes of every chunk, in any order)."""
    import numpy as np

    if not hashes:
        return 0
    _, counts = np.unique(np.concatenate(hashes), return_counts=True)
    return int(counts[counts > 1].sum())
