"""Where a pipeline's raw data is: one config model per source kind (``source.kind``), files by
URI template or a SQL table or query; the kind is inferred when absent, as before kinds existed."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from airflow_mlops.core.foundation.config.base import MAX_MINUTES, Strict

RawFormat = Literal["csv", "parquet", "jsonl"]


def format_of(path: str) -> RawFormat:
    """The format a raw file's suffix implies (.parquet/.pq, .jsonl/.ndjson, else csv): one rule
    for a pipeline's source and for the sample ``airflow-mlops init`` reads."""
    if path.endswith((".parquet", ".pq")):
        return "parquet"
    return "jsonl" if path.endswith((".jsonl", ".ndjson")) else "csv"


#: The bound parameters a ``source.sql`` query may use (pyformat, as DB-API drivers bind them).
SQL_PARAMS = ("data_interval_start", "data_interval_end", "ds")
_SQL_PARAM = re.compile(r"%\(([^)]*)\)s")
_SQL_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def _identifier(v: str, what: str, dotted: bool = False) -> str:
    parts = v.split(".") if dotted else [v]
    if len(parts) > 2 or not all(_SQL_IDENT.match(p) for p in parts):
        form = "name or schema.name" if dotted else "name"
        raise ValueError(
            f"{v!r} is not a plain {what} {form} (letters, digits, _ and $, not starting with a digit); "
            "for anything else write a query"
        )
    return v


def _sql_params(sql: str, field: str) -> str:
    """Refuse parameters the reader does not bind and a lone ``%`` (a driver would misread it)."""
    names = _SQL_PARAM.findall(sql)
    unknown = sorted({n for n in names if n not in SQL_PARAMS})
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {unknown}; {field} may use " + ", ".join(f"%({n})s" for n in SQL_PARAMS)
        )
    if "%" in _SQL_PARAM.sub("", sql).replace("%%", ""):
        raise ValueError("a literal % must be written %% (parameters are bound as %(name)s)")
    return sql


class SqlQueryConfig(Strict):
    """A table or query in a SQL database, read through an Airflow connection, one interval at a time."""

    conn_id: str = Field(description="Airflow connection of the database (any common-sql DbApiHook).")
    table: str | None = Field(
        default=None, description="Table (or schema.table) read by interval_column; or give query."
    )
    interval_column: str | None = Field(
        default=None,
        description="With table: rows with data_interval_start <= interval_column < data_interval_end.",
    )
    query: str | None = Field(
        default=None,
        description="A SELECT returning the declared raw columns of one interval; binds "
        "%(data_interval_start)s, %(data_interval_end)s and %(ds)s.",
    )
    ready_query: str | None = Field(
        default=None,
        description="The interval's data is ready when this returns a row whose first value is true; "
        "by default (with table) when a row at or after data_interval_end exists.",
    )

    @field_validator("table")
    @classmethod
    def _table(cls, v: str | None) -> str | None:
        return None if v is None else _identifier(v, "table", dotted=True)

    @field_validator("interval_column")
    @classmethod
    def _column(cls, v: str | None) -> str | None:
        return None if v is None else _identifier(v, "column")

    @field_validator("query", "ready_query")
    @classmethod
    def _params(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return None
        if not v.strip():
            raise ValueError("is empty")
        return _sql_params(v, str(info.field_name))

    @model_validator(mode="after")
    def _one_way(self) -> SqlQueryConfig:
        if self.query is not None:
            if self.table is not None or self.interval_column is not None:
                raise ValueError("give either table and interval_column, or query, not both")
            if not _SQL_PARAM.search(self.query):
                raise ValueError(
                    "query binds none of %(data_interval_start)s, %(data_interval_end)s, %(ds)s: "
                    "every interval would read the same rows"
                )
        elif self.table is None or self.interval_column is None:
            missing = [f for f in ("table", "interval_column") if getattr(self, f) is None]
            raise ValueError(f"missing {' and '.join(missing)}: give table and interval_column, or query")
        return self


class _Waiting(Strict):
    """How long and how often the sensor asks whether an interval's data is ready: every kind."""

    timeout_minutes: Annotated[float, Field(gt=0, le=MAX_MINUTES)] = 60.0
    poke_interval_seconds: Annotated[float, Field(gt=0, le=MAX_MINUTES * 60)] = 60.0


class FilesSourceConfig(_Waiting):
    """``source.kind: files`` (the default): each data interval's raw file(s) at a URI template."""

    # exclude: the kind is implied by the fields (uri here, sql there), so the config hash of a
    # pipeline written before kinds existed stays what it was.
    kind: Literal["files"] = Field(
        default="files", exclude=True, description="files (the default without sql)."
    )
    uri: str = Field(description="URI template of one interval's raw file; {ds} is the interval's date.")
    format: RawFormat | None = Field(
        default=None,
        description="csv, parquet or jsonl (JSON Lines: one object per line); by default from the "
        "suffix (.parquet/.pq, .jsonl/.ndjson, else csv).",
    )
    conn_id: str | None = Field(default=None, description="Airflow connection for s3:// sources.")
    max_bytes: Annotated[int, Field(gt=0)] | None = Field(
        default=None, description="A raw file larger than this is refused (and quarantined) unread."
    )

    @model_validator(mode="before")
    @classmethod
    def _files(cls, data: Any) -> Any:
        if isinstance(data, dict) and "sql" in data:  # named, rather than as an unknown field
            raise ValueError("sql is a field of source.kind sql, not of files")
        if isinstance(data, dict) and "uri" not in data:
            raise ValueError("give exactly one of uri (files) and sql (a database table or query)")
        return data

    @field_validator("uri")
    @classmethod
    def _has_interval(cls, v: str) -> str:
        if "{ds}" not in v and "{ds_nodash}" not in v:
            raise ValueError("must contain {ds} or {ds_nodash} so that each data interval has its own file")
        if ".." in v.replace("\\", "/").split("/"):
            raise ValueError(
                "must not contain '..': a source names its files, it does not climb out of a folder"
            )
        return v

    @property
    def file_format(self) -> RawFormat:
        """The declared format, or the one implied by the file suffix."""
        return self.format or format_of(self.uri)

    _shown: str | None = PrivateAttr(default=None)
    #: The source roots ``load_pipeline`` checked the URI against: ingest confines every file it
    #: reads to them (core.confine); None (a config parsed from text) means the settings' roots.
    _roots: tuple[str, ...] | None = PrivateAttr(default=None)

    @property
    def shown_uri(self) -> str:
        """The URI template as it may be shown (see ``for_interval``)."""
        return self._shown or self.uri

    def for_interval(self, ds: str, shown: bool = False) -> str:
        """The raw file URI of the interval starting on ``ds``; ``shown=True``: the form that may be
        stored, with any ``${VAR}`` but the project's own (a token, a password) as written."""
        uri = self.shown_uri if shown else self.uri
        return uri.replace("{ds}", ds).replace("{ds_nodash}", ds.replace("-", ""))


class SqlSourceConfig(_Waiting):
    """``source.kind: sql`` (the default with ``sql``): a table or query read by interval."""

    kind: Literal["sql"] = Field(default="sql", exclude=True, description="sql (the default with sql).")
    sql: SqlQueryConfig = Field(description="A table or query in a SQL database, read by data interval.")

    # The fields of files, always unset here: a SQL source dumps (and hashes) as it did when one
    # model held both kinds, and a file field beside sql is refused after the fields are checked,
    # so that the errors of sql are all reported too.
    uri: Any = Field(default=None, description="(files only)")
    format: Any = Field(default=None, description="(files only)")
    conn_id: Any = Field(default=None, description="(files only)")
    max_bytes: Any = Field(default=None, description="(files only)")

    @model_validator(mode="before")
    @classmethod
    def _has_sql(cls, data: Any) -> Any:
        if isinstance(data, dict) and "sql" not in data:
            raise ValueError("source.kind sql needs sql (a database table or query)")
        return data

    @model_validator(mode="after")
    def _no_file_fields(self) -> SqlSourceConfig:
        if self.uri is not None:
            raise ValueError("give exactly one of uri (files) and sql (a database table or query), not both")
        file_only = [f for f in ("format", "max_bytes", "conn_id") if getattr(self, f) is not None]
        if file_only:
            raise ValueError(f"{', '.join(file_only)} apply to files (uri), not to source.sql")
        return self

    @property
    def shown_uri(self) -> str:
        """How a SQL source is named in manifests, XCom and messages: connection and table (or
        ``query``), never the connection's host or credentials."""
        return f"sql://{self.sql.conn_id}/{self.sql.table or 'query'}"


#: The source kinds: each names its config model here and its module in core.data.sources.
SOURCE_KINDS: tuple[str, ...] = ("files", "sql")


def _kind(v: Any) -> Any:
    """``source.kind``, or for a source written without it the kind its fields imply."""
    if isinstance(v, dict):
        return v.get("kind") or ("sql" if "sql" in v else "files")
    return getattr(v, "kind", None)


SourceConfig = Annotated[
    Annotated[FilesSourceConfig, Tag("files")] | Annotated[SqlSourceConfig, Tag("sql")],
    Discriminator(
        _kind,
        custom_error_type="source_kind",
        custom_error_message="kind must be one of "
        + ", ".join(SOURCE_KINDS)
        + " (another kind needs its config model and module: docs/architecture.md, Adding a source)",
    ),
]
