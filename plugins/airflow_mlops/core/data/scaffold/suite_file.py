"""The scaffold's expectation suite: what the sample shows, with margins a person then reviews."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from airflow_mlops.core.data.scaffold.plan import Scaffold

#: Numeric bounds are the sample's range widened by this share of it on each side.
RANGE_MARGIN: Final = 0.5
#: Share of a category column's values that must be among the sample's categories.
CATEGORY_MOSTLY: Final = 0.99
#: The share of empty values allowed is this multiple of the sample's.
NULL_MARGIN: Final = 2.0
#: The type name Great Expectations observes for each declared type in a snapshot read back from
#: the lake (its ``expect_column_values_to_be_of_type`` compares against these).
GX_TYPES: Final[dict[str, str]] = {
    "int": "int64", "float": "float64", "string": "str", "category": "str", "bool": "bool",
    "datetime": "Timestamp", "date": "Timestamp",
}  # fmt: skip


def _round_to(x: float, integer: bool, rounding: Callable[[float], int]) -> float | int:
    """``x`` rounded (down or up) to a whole number or to six decimals: a bound never cuts off the
    sample."""
    return rounding(x) if integer else rounding(x * 1e6) / 1e6


def suite(sc: Scaffold) -> dict[str, Any]:
    """The expectation suite: columns, types, empty shares, a row count with only a lower bound;
    numeric ranges and category sets, with a margin, only for the columns the model uses (an
    identifier's or a time's range moves with every batch)."""
    n = sc.rows
    modelled = {*sc.numeric, *sc.categorical, sc.target}
    exps: list[dict[str, Any]] = []

    def add(etype: str, notes: str, **kwargs: Any) -> None:
        exps.append({"type": f"expect_{etype}", "kwargs": kwargs, "notes": notes})

    add(
        "table_row_count_to_be_between",
        "Not empty. REVIEW: the sample cannot say how many rows a batch holds; set the bounds.",
        min_value=1,
    )
    add(
        "table_columns_to_match_set",
        f"The columns of {sc.sample.name}.",
        column_set=list(sc.columns),
        exact_match=True,
    )
    for c, p in sc.columns.items():
        add(
            "column_values_to_be_of_type",
            f"Declared {p.kind} in schema.columns.",
            column=c,
            type_=GX_TYPES[p.kind],
        )
        allowed = min(1.0, NULL_MARGIN * p.null_share)
        if not p.nulls:
            add("column_values_to_not_be_null", f"Never empty in {n} sample rows.", column=c)
        elif allowed < 1.0:
            share = f"{p.nulls} of {n} sample rows were empty ({p.null_share:.1%}); up to twice that share may be."
            mostly = math.floor((1.0 - allowed) * 1000) / 1000
            add("column_values_to_not_be_null", share, column=c, mostly=mostly)
        if c not in modelled:
            continue
        if p.minimum is not None and p.maximum is not None:
            integer = p.kind == "int"
            span = p.maximum - p.minimum
            margin = RANGE_MARGIN * span if span else RANGE_MARGIN * abs(p.minimum) or 1.0
            add(
                "column_values_to_be_between",
                f"The sample ranged from {p.minimum:g} to {p.maximum:g}; widened by half that range "
                "on each side. REVIEW: use the real limits where you know them.",
                column=c,
                min_value=_round_to(p.minimum - margin, integer, math.floor),
                max_value=_round_to(p.maximum + margin, integer, math.ceil),
            )
        strict = c == sc.target
        if p.values is not None and (p.kind == "category" or (strict and sc.task == "classification")):
            kwargs: dict[str, Any] = {"column": c, "value_set": list(p.values)}
            if not strict:
                kwargs["mostly"] = CATEGORY_MOSTLY
            new = " Every label must be a class the model knows." if strict else " At most 1% may be new."
            add("column_values_to_be_in_set", f"The {len(p.values)} values of the sample.{new}", **kwargs)
    return {
        "name": sc.name,
        "notes": f"Written by airflow-mlops init from {sc.sample.name} ({n} rows): what the sample "
        "showed, with margins. Review it before trusting it.",
        "meta": {"pipeline": sc.name, "scaffold": {"sample": sc.sample.name, "rows": n}},
        "expectations": exps,
    }
