"""``source.kind: sql``: the statement that reads (or checks) one data interval, and its rows typed.

No Airflow and no driver here: the hook (:mod:`airflow_mlops.hooks.sql`) runs the statement and
hands rows over in blocks, which pyarrow types against the schema as the CSV reader types cells,
so the same rows give the same snapshot hash from a file or a table. A column of another type in
the database is a contract error naming the pipeline, the table (or query) and the column.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.data.sources.base import Batch, Interval, Kept, Source
from airflow_mlops.core.foundation.config import PipelineConfig, SqlQueryConfig, SqlSourceConfig
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


@dataclass(frozen=True)
class SqlStatement:
    """A statement with its bound parameters, and how messages name what it reads; ``private``
    (the pipeline declares ``schema.pii``) keeps the database's messages about values out of errors."""

    sql: str
    params: dict[str, Any]
    shown: str
    private: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON-able (times as ISO text): for a trigger's kwargs and the quarantine record."""
        params = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in self.params.items()}
        return {"sql": self.sql, "params": params, "shown": self.shown, "private": self.private}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SqlStatement:
        params = {
            k: datetime.fromisoformat(v) if k.startswith("data_interval_") else v
            for k, v in data["params"].items()
        }
        return cls(str(data["sql"]), params, str(data["shown"]), bool(data.get("private", False)))


#: One block of rows as the database returned them: column names, then rows (tuples or mappings).
Block = tuple[list[str], Sequence[Sequence[Any] | Mapping[str, Any]]]


def quote(name: str) -> str:
    """An identifier quoted the SQL standard's way (``schema.table`` part by part): the config
    allows only plain names, and quoting keeps even those from being read as keywords."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def _sql(cfg: PipelineConfig) -> SqlQueryConfig:
    if not isinstance(cfg.source, SqlSourceConfig):  # pragma: no cover - callers check
        raise ConfigError(f"{cfg.name}: source.sql is not set")
    return cfg.source.sql


def label(cfg: PipelineConfig) -> str:
    """How errors name a SQL source: the pipeline, the table (or the query) and the connection."""
    sql = _sql(cfg)
    what = f"table {sql.table!r}" if sql.table else "the query of source.sql"
    return f"{cfg.name}: {what} (connection {sql.conn_id!r})"


def _params(cfg: PipelineConfig, ds: str, interval: tuple[datetime, datetime] | None) -> dict[str, Any]:
    if interval is None:
        raise ConfigError(
            f"{cfg.name}: source.sql reads rows by data interval, and this run has none "
            "(run it from Airflow, or give the interval)"
        )
    start, end = interval
    return {"data_interval_start": start, "data_interval_end": end, "ds": ds}


def read_statement(cfg: PipelineConfig, ds: str, interval: tuple[datetime, datetime] | None) -> SqlStatement:
    """The statement that reads interval ``ds``: the configured query, or the table's declared raw
    columns with ``start <= interval_column < end`` in a fixed order (a stable snapshot hash)."""
    sql = _sql(cfg)
    params = _params(cfg, ds, interval)
    private = cfg.data_schema.has_pii
    if sql.query is not None:
        return SqlStatement(sql.query, params, label(cfg), private)
    assert sql.table is not None and sql.interval_column is not None  # the config checked it
    cols = [quote(c) for c in cfg.raw_columns]
    order = [quote(sql.interval_column), *[c for c in cols if c != quote(sql.interval_column)]]
    text = (
        f"SELECT {', '.join(cols)} FROM {quote(sql.table)} "
        f"WHERE {quote(sql.interval_column)} >= %(data_interval_start)s "
        f"AND {quote(sql.interval_column)} < %(data_interval_end)s "
        f"ORDER BY {', '.join(order)}"
    )
    return SqlStatement(text, params, label(cfg), private)


def ready_statement(
    cfg: PipelineConfig, ds: str, interval: tuple[datetime, datetime] | None
) -> SqlStatement | None:
    """The statement whose first value says the interval is complete: ``ready_query``, or for a
    table whether a row at or after its end exists (rows arrive in time order). None for a query
    without ``ready_query``: nothing to wait for."""
    sql = _sql(cfg)
    params = _params(cfg, ds, interval)
    if sql.ready_query is not None:
        return SqlStatement(sql.ready_query, params, label(cfg))
    if sql.table is None or sql.interval_column is None:
        return None
    text = (
        f"SELECT CASE WHEN EXISTS (SELECT 1 FROM {quote(sql.table)} "
        f"WHERE {quote(sql.interval_column)} >= %(data_interval_end)s) THEN 1 ELSE 0 END"
    )
    return SqlStatement(text, params, label(cfg))


_TYPE_NAMES = {"string": "text", "large_string": "text", "bool": "boolean", "double": "float"}


def _type_name(t: pa.DataType) -> str:
    import pyarrow as pa

    kinds = {"integer": pa.types.is_integer, "numeric (decimal)": pa.types.is_decimal}
    kinds |= {"timestamp": pa.types.is_timestamp, "date": pa.types.is_date}
    return next((name for name, test in kinds.items() if test(t)), _TYPE_NAMES.get(str(t), str(t)))


def _accepts(kind: str, t: pa.DataType) -> bool:
    """Whether a database column of arrow type ``t`` may fill a column declared ``kind``: what
    converts without guessing (an integer into a float), never text into a number."""
    import pyarrow as pa

    if pa.types.is_null(t):
        return True
    if kind == "int":
        return bool(pa.types.is_integer(t))
    if kind == "float":
        return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))
    if kind == "bool":
        return bool(pa.types.is_boolean(t))
    if kind in ("string", "category"):
        return bool(pa.types.is_string(t) or pa.types.is_large_string(t))
    return bool(pa.types.is_timestamp(t) or pa.types.is_date(t))  # datetime, date


def _column(values: Sequence[Any], name: str, kind: str, where: str, show: bool) -> pa.Array:
    import pyarrow as pa

    from airflow_mlops.core.data.sources.rawfile import arrow_type

    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        # pyarrow quotes the value; a pipeline with personal data must not (schema.pii).
        why = f": {e}" if show else " (values not shown: the pipeline declares schema.pii)"
        err = DataContractError(f"{where}: column {name!r} ({kind}) holds values of more than one type{why}")
        if show:
            raise err from e
        raise err from None
    if not _accepts(kind, arr.type):
        raise DataContractError(
            f"{where}: column {name!r} is {_type_name(arr.type)} in the database, but "
            f"schema.columns.{name} declares {kind}"
        )
    target = arrow_type(kind, typed=True)
    if pa.types.is_date(arr.type) and pa.types.is_timestamp(target):
        arr = arr.cast(pa.timestamp("ns"))  # a date is its midnight, read as UTC like a CSV date
    # safe=False: a float64 holds a decimal or a big integer approximately, as a CSV's text would be.
    return arr if arr.type == target else arr.cast(target, safe=False)


def frames(
    cfg: PipelineConfig, blocks: Iterator[Block], stmt: SqlStatement
) -> Iterator[tuple[str, pd.DataFrame]]:
    """The declared raw columns of each block of rows, typed as the file readers type them; no rows
    at all is a contract error (an empty interval)."""
    import pyarrow as pa

    from airflow_mlops.core.data.sources.rawfile import to_pandas

    where, wanted, kinds = stmt.shown, cfg.raw_columns, cfg.data_schema.columns
    show = not cfg.data_schema.has_pii
    rows_seen = 0
    for names, rows in blocks:
        if missing := [c for c in wanted if c not in names]:
            raise DataContractError(f"{where}: missing column(s) {missing}; the database returns {names}")
        if not rows:
            continue
        rows_seen += len(rows)
        if isinstance(rows[0], Mapping):
            columns = {c: [r[c] for r in rows] for c in wanted}  # type: ignore[call-overload]
        else:
            by_name = dict(zip(names, zip(*rows, strict=True), strict=True))
            columns = {c: list(by_name[c]) for c in wanted}
        table = pa.table({c: _column(columns[c], c, kinds[c], where, show) for c in wanted})
        yield where, to_pandas(table)
    if not rows_seen:
        p = stmt.params
        raise DataContractError(
            f"{where}: no rows in the data interval "
            f"{_iso(p.get('data_interval_start'))}..{_iso(p.get('data_interval_end'))}"
        )


def _iso(t: object) -> str:
    return t.isoformat() if isinstance(t, datetime) else str(t)


class SqlSource(Source):
    """A table or query of a database, read through a common-sql connection by data interval."""

    kind = "sql"
    hook = "airflow_mlops.hooks.sql.SqlSourceHook"

    @property
    def kept_in_quarantine(self) -> str:
        return "The statement and the reason are"

    @property
    def conn_id(self) -> str:
        return _sql(self.cfg).conn_id

    def where(self, ds: str, *, shown: bool = True) -> str:
        """Every interval is named by the table (or query) alone."""
        return self.cfg.source.shown_uri

    def readiness(self, ds: str, interval: Interval) -> dict[str, Any] | None:
        stmt = ready_statement(self.cfg, ds, interval)
        return None if stmt is None else stmt.to_json()

    @classmethod
    def ready(cls, check: Mapping[str, Any], conn: Any) -> bool:
        return bool(conn.ready(SqlStatement.from_json(check)))

    def open(self, ds: str, interval: Interval, conn: Any) -> Batch:
        """``conn`` has ``read(statement)``, yielding :data:`Block` s (the hook's ``read``)."""
        if conn is None:
            raise ConfigError(f"{self.cfg.name}: source.sql needs a reader of its database connection")
        stmt = read_statement(self.cfg, ds, interval)
        return Batch([lambda: frames(self.cfg, conn.read(stmt), stmt)], record={"sql": stmt.to_json()})

    def kept(self, ds: str, batch: Batch | None) -> Kept:
        return Kept(None, NOT_COPIED, batch.record) if batch else Kept(None, None, {})


NOT_COPIED: Final = "rows of a SQL source are not copied; the statement and its parameters are kept"
SOURCE = SqlSource
