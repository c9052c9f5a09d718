"""SqlSourceHook: a SQL source's rows through an Airflow connection (a common-sql ``DbApiHook``:
credentials stay in Airflow), ``BLOCK_ROWS`` at a time through a server-side cursor where the
driver has one (psycopg, psycopg2): an interval costs a block's memory, never the whole result.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from airflow.sdk import BaseHook

from airflow_mlops.core.foundation.errors import ConfigError, DataContractError

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    from airflow_mlops.core.data.sources.sql import Block, SqlStatement

#: Rows fetched per round trip and per frame.
BLOCK_ROWS: Final = 100_000
#: DB-API exceptions refusing the statement or its data (a missing table, a syntax error, a bad
#: value): it fails the same way again, so the source is refused. Others (a lost connection) retry.
_REFUSALS: Final = frozenset({"ProgrammingError", "DataError", "IntegrityError", "NotSupportedError"})
_SERVER_CURSORS: Final = frozenset({"psycopg", "psycopg2"})


def refused(e: BaseException) -> bool:
    """Whether a driver's exception refuses the statement (by DB-API class name: any driver)."""
    return any(c.__name__ in _REFUSALS for c in type(e).__mro__)


def _about_values(e: BaseException) -> bool:
    """A refusal of the data rather than of the statement: its message may hold a value."""
    return any(c.__name__ in ("DataError", "IntegrityError") for c in type(e).__mro__)


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


class SqlSourceHook(BaseHook):
    """Reads and checks a pipeline's ``source.sql`` through Airflow connection ``conn_id``."""

    conn_name_attr = "sql_conn_id"
    hook_name = "airflow-mlops SQL source"

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    @cached_property
    def db(self) -> DbApiHook:
        """The connection's common-sql hook; a connection of another kind is a config error."""
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        hook = self.get_connection(self.conn_id).get_hook()  # type: ignore[no-untyped-call]
        if not isinstance(hook, DbApiHook):
            raise ConfigError(
                f"source.sql.conn_id: connection {self.conn_id!r} gives a {type(hook).__name__}, "
                "not a SQL database hook (common-sql DbApiHook)"
            )
        return hook

    def read(self, stmt: SqlStatement) -> Iterator[Block]:
        """The statement's rows in blocks, with the column names; a refusal of the database is a
        DataContractError naming the source (its first line: no rows, no secrets)."""
        conn = self.db.get_conn()
        try:
            server = type(conn).__module__.split(".")[0] in _SERVER_CURSORS
            # A named cursor is a server-side one: the database keeps the result, we fetch blocks.
            cur = conn.cursor(name=f"airflow_mlops_{uuid.uuid4().hex}") if server else conn.cursor()
            try:
                if server:
                    cur.itersize = BLOCK_ROWS
                cur.execute(stmt.sql, stmt.params)
                names: list[str] | None = None
                while True:
                    rows = cur.fetchmany(BLOCK_ROWS)
                    if names is None:  # a psycopg2 named cursor describes its rows after a fetch
                        names = [d[0] for d in cur.description or []]
                    if not rows:
                        return
                    yield names, rows
            except Exception as e:
                if not refused(e):
                    raise
                if stmt.private and _about_values(e):
                    # The database may quote the value (`invalid input syntax ...: "jane"`).
                    raise DataContractError(
                        f"{stmt.shown}: the database refused a value ({type(e).__name__}; its message is not "
                        "shown: the pipeline declares schema.pii)"
                    ) from None
                raise DataContractError(
                    f"{stmt.shown}: the database refused the query: {_first_line(e)}"
                ) from e
            finally:
                _quietly(cur.close)
        finally:
            _quietly(conn.rollback)  # only read; ends the transaction a server cursor needs
            _quietly(conn.close)

    def ready(self, stmt: SqlStatement) -> bool:
        """Whether the readiness statement's first row has a true first value."""
        conn = self.db.get_conn()
        try:
            cur = conn.cursor()
            try:
                cur.execute(stmt.sql, stmt.params)
                row = cur.fetchone()
            except Exception as e:
                if refused(e):
                    raise ConfigError(
                        f"{stmt.shown}: the database refused the readiness query: {_first_line(e)}"
                    ) from e
                raise
            finally:
                _quietly(cur.close)
        finally:
            _quietly(conn.rollback)
            _quietly(conn.close)
        if row is None:
            return False
        first = next(iter(row.values())) if isinstance(row, dict) else row[0]
        return bool(first)


def _quietly(close: Any) -> None:
    """Close or roll back after an error without hiding it (a broken connection refuses both)."""
    with contextlib.suppress(Exception):  # the first error is the one to report
        close()
