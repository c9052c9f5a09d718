"""What the scaffold's tests share: a sample written where the scaffolded pipeline's source looks,
the scaffold planned and written from it, and a frame with one column of each kind."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from airflow_mlops.core.data import scaffold

DS = "2024-05-01"


def sample(home: Path, name: str, df: pd.DataFrame, fmt: str = "csv") -> Path:
    """``df`` written where the scaffolded pipeline's source will look for interval DS."""
    path = home / "raw" / name / f"{DS}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_json(path, orient="records", lines=True)
    return path


def written(
    home: Path, name: str, path: Path, target: str, **kw: Any
) -> tuple[scaffold.Scaffold, Path, Path]:
    sc = scaffold.plan(name, path, target, start_date=date(2024, 5, 1), **kw)
    yaml_path, suite_path = scaffold.write(
        sc, home / "include" / "pipelines", home / "include" / "expectations"
    )
    return sc, yaml_path, suite_path


def expectations(suite_path: Path, column: str) -> dict[str, dict[str, Any]]:
    """The suite's expectations on ``column``, by type."""
    exps = json.loads(suite_path.read_text())["expectations"]
    return {e["type"]: e["kwargs"] for e in exps if e["kwargs"].get("column") == column}


def mixed(n: int = 60) -> pd.DataFrame:
    """A frame with one column of each kind the scaffold tells apart."""
    return pd.DataFrame(
        {
            "order_id": [f"o-{i}" for i in range(n)],
            "row": range(1000, 1000 + n),
            "qty": [i % 7 for i in range(n)],
            "price": [10.0 + (i % 21) for i in range(n)],  # integral floats, written 10.0: a float
            "weight": [0.5 + i / 10 if i % 10 else None for i in range(n)],
            "member": ["yes" if i % 3 else "no" for i in range(n)],
            "shop": [["north", "south", "east"][i % 3] for i in range(n)],
            "comment": [f"said {i} things" for i in range(n)],
            "country": ["NL"] * n,
            "empty": [None] * n,
            "day": [f"2024-04-{1 + i % 28:02d}" for i in range(n)],
            "at": [f"2024-04-01 {i % 24:02d}:{i % 60:02d}:00" for i in range(n)],
            "label": ["a" if i % 4 else "b" for i in range(n)],
        }
    )
