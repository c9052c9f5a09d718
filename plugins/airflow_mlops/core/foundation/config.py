"""Pipeline configuration: one YAML file per pipeline, read into a strict, frozen schema.

Unknown keys are rejected and every error names the file, the field and what is wrong, because a
typo in a YAML file must never silently change what a pipeline does. This module is imported by
the DAG factory at every parse, so it imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from airflow_mlops.core.foundation import config_rules
from airflow_mlops.core.foundation.errors import ConfigError

# METRICS and TaskType live in core.metrics, with each metric's range; re-exported here.
from airflow_mlops.core.foundation.metrics import METRICS as METRICS
from airflow_mlops.core.foundation.metrics import TaskType as TaskType
from airflow_mlops.core.foundation.yamlload import load_yaml, read_bounded

#: The column training adds to its rows: the data interval each row came from (never a schema column).
RESERVED_COLUMN: Final = "_mlops_interval"

ColumnType = Literal["int", "float", "string", "category", "bool", "datetime", "date"]
#: Longest wait or timeout (30 days): larger ones overflow the durations Airflow builds from them.
MAX_MINUTES: Final = 60 * 24 * 30

#: What a pipeline name may be: it names DAGs, registered models and paths in the lake.
PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


#: Fields added after models were first registered, by their path in the YAML (``schema``, not
#: ``data_schema``). Each must default to None; while unset it is left out of ``config_hash``, so an
#: existing pipeline keeps its hash (and "nothing new to train on" keeps working). Add every new
#: field that changes what is trained here.
LATER_FIELDS: tuple[str, ...] = (
    "source.sql",
    "model.search",
    "gate.min_holdout_rows",
    "schema.free_text",
    "split.on_vanished",
)


class _Strict(BaseModel):
    # No NaN or infinity anywhere: `minimum: .nan` would make every comparison false.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


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


class SqlSourceConfig(_Strict):
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
    def _one_way(self) -> SqlSourceConfig:
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


class SourceConfig(_Strict):
    """Where each data interval's raw file is (``uri``), or its rows (``sql``)."""

    uri: str | None = Field(
        default=None, description="URI template of one interval's raw file; {ds} is the interval's date."
    )
    sql: SqlSourceConfig | None = Field(
        default=None, description="A table or query in a SQL database instead of files (not with uri)."
    )
    format: Literal["csv", "parquet", "jsonl"] | None = Field(
        default=None,
        description="csv, parquet or jsonl (JSON Lines: one object per line); by default from the "
        "suffix (.parquet/.pq, .jsonl/.ndjson, else csv).",
    )
    conn_id: str | None = Field(default=None, description="Airflow connection for s3:// sources.")
    timeout_minutes: Annotated[float, Field(gt=0, le=MAX_MINUTES)] = 60.0
    poke_interval_seconds: Annotated[float, Field(gt=0, le=MAX_MINUTES * 60)] = 60.0
    max_bytes: Annotated[int, Field(gt=0)] | None = Field(
        default=None, description="A raw file larger than this is refused (and quarantined) unread."
    )

    @field_validator("uri")
    @classmethod
    def _has_interval(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if "{ds}" not in v and "{ds_nodash}" not in v:
            raise ValueError("must contain {ds} or {ds_nodash} so that each data interval has its own file")
        if ".." in v.replace("\\", "/").split("/"):
            raise ValueError(
                "must not contain '..': a source names its files, it does not climb out of a folder"
            )
        return v

    @model_validator(mode="after")
    def _uri_or_sql(self) -> SourceConfig:
        if (self.uri is None) == (self.sql is None):
            raise ValueError(
                "give exactly one of uri (files) and sql (a database table or query)"
                + ("" if self.uri is None else ", not both")
            )
        if self.sql is not None:
            file_only = [f for f in ("format", "max_bytes", "conn_id") if getattr(self, f) is not None]
            if file_only:
                raise ValueError(f"{', '.join(file_only)} apply to files (uri), not to source.sql")
        return self

    @property
    def file_format(self) -> RawFormat:
        """The declared format, or the one implied by the file suffix."""
        if self.format:
            return self.format
        if self.uri is None:
            return "parquet"  # a SQL source: rows arrive typed, as from Parquet
        return format_of(self.uri)

    _shown: str | None = PrivateAttr(default=None)
    #: The source roots ``load_pipeline`` checked the URI against: ingest confines every file it
    #: reads to them (core.confine); None (a config parsed from text) means the settings' roots.
    _roots: tuple[str, ...] | None = PrivateAttr(default=None)

    @property
    def shown_uri(self) -> str:
        """The URI template as it may be shown (see ``for_interval``)."""
        return self._shown or self.uri or self.sql_uri

    @property
    def sql_uri(self) -> str:
        """How a SQL source is named in manifests, XCom and messages: connection and table (or
        ``query``), never the connection's host or credentials."""
        assert self.sql is not None
        return f"sql://{self.sql.conn_id}/{self.sql.table or 'query'}"

    def for_interval(self, ds: str, shown: bool = False) -> str:
        """The raw file URI of the interval starting on ``ds`` (YYYY-MM-DD).

        ``shown=True`` gives the form that may be shown and stored (DAG docs, manifests, XCom, Asset
        events): only the project's own ``${AIRFLOW_MLOPS_*}`` locations are expanded, any other
        ``${VAR}`` (a token, a password) stays as written.
        """
        if self.sql is not None:
            return self.sql_uri
        uri = self.shown_uri if shown else self.uri
        assert uri is not None  # a source has uri or sql
        return uri.replace("{ds}", ds).replace("{ds_nodash}", ds.replace("-", ""))


class SchemaConfig(_Strict):
    """The data contract: columns kept from the raw file and their types."""

    columns: dict[str, ColumnType]
    target: str
    task: TaskType
    time_column: str | None = Field(
        default=None,
        description="Column holding when each record happened. Without one, every record takes its "
        "batch's data interval as its time: batches order the training window (the newest are the "
        "holdout) and nothing is checked against the interval.",
    )
    derive: dict[str, str] = Field(
        default_factory=dict,
        description="New columns computed at ingest from pandas expressions over raw columns.",
    )
    row_filter: str | None = Field(default=None, description="pandas query; rows outside it are dropped.")
    max_outside_interval: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.0,
        description="Share of rows whose time_column may lie outside the run's data interval; "
        "above it the file is refused as another interval's (a stale or misdated delivery).",
    )
    pii: dict[str, Literal["hash", "drop"]] = Field(
        default_factory=dict,
        description="Raw columns holding personal data: 'hash' replaces each value by a keyed hash "
        "(HMAC-SHA256) at ingest, 'drop' never reads the column. Raw values never reach the lake.",
    )
    free_text: list[str] | None = Field(
        default=None,
        description="Columns of a CSV file whose values may hold line breaks (inside quotes). A value "
        "with line breaks in any other column is refused, naming the lines where it opens and closes "
        "(a stray quote merges rows); so is one holding whole records, even here. None: no column may.",
    )
    pii_key_variable: str = Field(
        default="airflow_mlops_pii_key",
        pattern=r"^[A-Za-z0-9_.-]{1,250}$",
        description="Name of the Airflow Variable holding the secret key of the hashed pii columns.",
    )

    @field_validator("pii")
    @classmethod
    def _pii(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        # Runs after the fields declared above it, so they are in info.data when they were valid.
        columns: dict[str, str] = info.data.get("columns") or {}
        derive: dict[str, str] = info.data.get("derive") or {}
        special = {info.data.get("target"): "target", info.data.get("time_column"): "time_column"}
        for col, how in v.items():
            if how == "drop":
                if col in columns:
                    raise ValueError(
                        f"{col!r} is dropped, so it must not be declared in schema.columns "
                        "(remove it there, or hash it instead)"
                    )
                continue
            if col not in columns:
                raise ValueError(f"{col!r} is hashed, so it must be declared in schema.columns")
            if col in special:
                raise ValueError(f"{col!r} is the {special[col]}; it cannot be hashed")
            if col in derive:
                raise ValueError(f"{col!r} is derived (schema.derive), not read from the raw file")
            if columns[col] not in ("string", "category"):
                raise ValueError(
                    f"{col!r} is hashed, so its type in schema.columns must be string or category "
                    f"(the hash is text), not {columns[col]}"
                )
        return v

    @property
    def pii_hashed(self) -> list[str]:
        """Columns replaced by a keyed hash at ingest."""
        return [c for c, how in self.pii.items() if how == "hash"]

    @property
    def has_pii(self) -> bool:
        """The raw files hold personal data, so no copy of them may be kept anywhere."""
        return bool(self.pii)

    @model_validator(mode="after")
    def _columns_exist(self) -> SchemaConfig:
        if not self.columns:
            raise ValueError("columns: at least one column is needed")
        if RESERVED_COLUMN in self.columns:
            raise ValueError(
                f"columns: {RESERVED_COLUMN!r} is reserved (training records each row's interval in it)"
            )
        for col in self.derive:
            if col not in self.columns:
                raise ValueError(f"derive: {col!r} must also be declared in columns, with its type")
        for field in ("target", "time_column"):
            name = getattr(self, field)
            if name is not None and name not in self.columns:
                raise ValueError(f"{field}: {name!r} is not one of the declared columns")
        if self.time_column and self.columns[self.time_column] not in ("datetime", "date"):
            raise ValueError(
                f"time_column: {self.time_column!r} is declared {self.columns[self.time_column]}, "
                "it must be datetime or date (or leave time_column out: batches then give the time)"
            )
        for col in self.free_text or []:
            if col in self.derive:
                raise ValueError(f"free_text: {col!r} is derived (schema.derive), not read from the raw file")
            if col in self.columns and self.columns[col] not in ("string", "category"):
                raise ValueError(
                    f"free_text: {col!r} is declared {self.columns[col]}; only a string or category "
                    "column can hold line breaks"
                )
        if self.free_text is not None and len(set(self.free_text)) != len(self.free_text):
            raise ValueError(f"free_text: a column is listed twice in {self.free_text}")
        if self.task == "regression" and self.columns[self.target] not in ("int", "float"):
            raise ValueError(
                f"target: a regression target must be int or float, not {self.columns[self.target]}"
            )
        return self


class FeaturesConfig(_Strict):
    """Model inputs; preprocessing is derived from these lists."""

    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]


_IMPORT_PATH = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+")


class RangeSpace(_Strict):
    """A numeric range one parameter is sampled from (uniformly, or log-uniformly)."""

    low: float
    high: float
    log: bool = Field(default=False, description="Sample log-uniformly (both bounds must be > 0).")
    integer: bool = Field(default=False, alias="int", description="Round the sample to an integer.")

    @model_validator(mode="after")
    def _bounds(self) -> RangeSpace:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0 (low is {self.low})")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError(f"int: true needs whole bounds (low {self.low}, high {self.high})")
        return self


class CandidateConfig(_Strict):
    """One estimator of a search and the space of its parameters."""

    estimator: str = Field(description="Import path, as model.estimator.")
    params: dict[str, list[Any] | RangeSpace] = Field(
        default_factory=dict,
        description="Parameter name -> a list of choices, or {low, high, log, int}. Parameters not "
        "named keep the estimator's defaults (random_state: split.seed).",
    )

    @field_validator("estimator")
    @classmethod
    def _import_path(cls, v: str) -> str:
        if not _IMPORT_PATH.fullmatch(v):
            raise ValueError("must be an import path such as sklearn.linear_model.LogisticRegression")
        return v

    @field_validator("params", mode="before")
    @classmethod
    def _spaces(cls, v: Any) -> Any:
        # Checked here so that an error names the parameter, not pydantic's union members.
        if not isinstance(v, dict):
            return v
        out: dict[str, Any] = {}
        for name, space in v.items():
            if isinstance(space, list):
                if not space:
                    raise ValueError(f"{name}: the list of choices is empty")
                out[name] = space
            elif isinstance(space, dict):
                try:
                    out[name] = RangeSpace.model_validate(space)
                except ValidationError as e:
                    why = "; ".join(
                        "".join(f"{x}: " for x in err["loc"]) + err["msg"].removeprefix("Value error, ")
                        for err in e.errors()
                    )
                    raise ValueError(f"{name}: {why}") from None
            else:
                raise ValueError(
                    f"{name}: {space!r} is not a space; give a list of choices (e.g. [0.1, 1.0]) "
                    "or a range {low: 0.01, high: 10, log: true}"
                )
        return out


class SearchConfig(_Strict):
    """Model selection: candidates searched by time-aware cross-validation within a budget."""

    candidates: list[CandidateConfig] = Field(min_length=1)
    trials: Annotated[int, Field(ge=1, le=200)] = Field(
        default=20, description="At most this many trials (fewer when every finite space is exhausted)."
    )
    minutes: Annotated[float, Field(gt=0)] = Field(
        default=30.0, description="Trials not started this many minutes after planning are skipped."
    )
    folds: Annotated[int, Field(ge=2, le=10)] = Field(
        default=3, description="Expanding-window folds over the training part, the newest last."
    )
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = Field(
        default=None, description="Seed of the sampler; default split.seed."
    )


class ModelConfig(_Strict):
    """A scikit-learn estimator by import path and its parameters, or a search among candidates."""

    estimator: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    search: SearchConfig | None = Field(
        default=None,
        description="Instead of estimator and params: candidates searched within a budget.",
    )
    registered_name: str | None = None
    max_categories: Annotated[int, Field(ge=2)] = 30
    allow_pickle: bool = Field(
        default=False,
        description="Load model versions serialized with pickle, which runs code when loaded (skops only by default).",
    )

    @field_validator("estimator")
    @classmethod
    def _import_path(cls, v: str | None) -> str | None:
        if v is not None and not _IMPORT_PATH.fullmatch(v):
            raise ValueError("must be an import path such as sklearn.linear_model.LogisticRegression")
        return v

    @model_validator(mode="after")
    def _one_model(self) -> ModelConfig:
        if self.search is None and self.estimator is None:
            raise ValueError("estimator: required (or model.search, to choose among candidates)")
        if self.search is not None and self.estimator is not None:
            raise ValueError(
                "estimator and search exclude each other: a search chooses the estimator among "
                "search.candidates"
            )
        if self.search is not None and self.params:
            raise ValueError(
                "params and search exclude each other: give fixed values as one-choice lists in "
                "search.candidates[].params"
            )
        return self

    @property
    def estimators(self) -> list[str]:
        """Every estimator this config may train: the fixed one, or each candidate's."""
        if self.search is not None:
            return list(dict.fromkeys(c.estimator for c in self.search.candidates))
        return [self.estimator] if self.estimator else []


class SplitConfig(_Strict):
    """How training data is chosen and split: by time, the newest part held out."""

    training_window_days: Annotated[int, Field(ge=1, le=365)] = 14
    test_fraction: Annotated[float, Field(gt=0, lt=0.9)] = 0.2
    min_training_rows: Annotated[int, Field(ge=10)] = 100
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 42
    on_vanished: Literal["fail", "skip"] | None = Field(
        default=None,
        description="An interval of the window that ingest committed and that is now gone from the "
        "lake: fail (the default, also when unset) stops training with an error naming it; skip "
        "trains without it and records it in the log, the version's tags and the model card.",
    )


#: Labelled rows neither model trained on that the gate needs to compare a candidate with the
#: champion, unless ``gate.min_holdout_rows`` says otherwise: fewer make a roc_auc or an accuracy
#: move by several hundredths by chance alone.
DEFAULT_MIN_HOLDOUT_ROWS: Final = 100


class GateConfig(_Strict):
    """The promotion gate: a candidate becomes champion only if it passes."""

    metric: str
    minimum: float = Field(description="Absolute minimum of the metric (a maximum for lower-is-better).")
    min_improvement: Annotated[float, Field(ge=0)] = 0.0
    min_holdout_rows: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Fewest labelled rows that neither candidate nor champion trained on for the gate "
        f"to compare them (default {DEFAULT_MIN_HOLDOUT_ROWS}); with fewer, the champion stays.",
    )
    approval: Literal["none", "required"] = Field(
        default="none",
        description="required: a candidate that passes the gate waits for a person's approval.",
    )
    approval_timeout_minutes: Annotated[int, Field(ge=1, le=60 * 24 * 30)] = Field(
        default=1440, description="How long the approval waits; no answer in time counts as a rejection."
    )
    slices: list[str] = Field(
        default_factory=list,
        description="Columns whose values cut the held-out rows into slices (an airport, a customer "
        "group): the gate metric is computed per slice for candidate and champion and recorded.",
    )
    min_slice_rows: Annotated[int, Field(ge=1)] = Field(
        default=30, description="A slice with fewer held-out rows is recorded but not judged."
    )
    max_slice_regression: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        description="Refuse a candidate worse than the champion by more than this on any judged slice "
        "(unset: slices are recorded, not judged against the champion).",
    )
    max_slice_gap: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        description="Refuse a candidate whose best and worst judged slices of a column differ by more "
        "than this (a fairness bound across groups).",
    )

    @model_validator(mode="after")
    def _slices_named(self) -> GateConfig:
        dupes = sorted({c for c in self.slices if self.slices.count(c) > 1})
        if dupes:
            raise ValueError(f"slices: {dupes} listed twice")
        for field in ("max_slice_regression", "max_slice_gap"):
            if getattr(self, field) is not None and not self.slices:
                raise ValueError(f"{field} is set but gate.slices names no column to cut slices by")
        return self

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric][1]

    @property
    def held_out_minimum(self) -> int:
        """``min_holdout_rows``, or its default when unset."""
        return self.min_holdout_rows or DEFAULT_MIN_HOLDOUT_ROWS


class ColumnDriftConfig(_Strict):
    """The test of one drift column, overriding Evidently's default choice."""

    method: str | None = Field(default=None, description="Evidently stattest, e.g. wasserstein, psi.")
    threshold: float | None = None


class DriftConfig(_Strict):
    """Drift monitoring of each validated batch against the champion's training data."""

    columns: list[str] | None = Field(default=None, description="Defaults to the features.")
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    reference: Literal["champion_training_data"] = "champion_training_data"
    max_reference_rows: Annotated[int, Field(ge=100)] = 20_000
    max_current_rows: Annotated[int, Field(ge=1000)] = Field(
        default=50_000,
        description="Rows of a larger batch the Evidently report is built on (a sample drawn with "
        "split.seed); row counts and per-column statistics still cover every row.",
    )
    method: str | None = Field(default=None, description="Evidently stattest for every column, e.g. psi.")
    method_threshold: float | None = None
    per_column: dict[str, ColumnDriftConfig] = Field(default_factory=dict)


class LabelsConfig(_Strict):
    """When the true label of a scored row becomes known, and how it is matched to its prediction."""

    arrive: Literal["same_batch", "later"] = Field(
        default="same_batch",
        description="same_batch: a batch carries its own labels; later: a later batch carries the "
        "labels of rows scored before, matched on `key`.",
    )
    key: list[str] = Field(
        default_factory=list, description="Columns naming a row across batches (e.g. a customer id)."
    )
    max_delay_batches: Annotated[int, Field(ge=1, le=365)] = Field(
        default=1, description="How many earlier batches' predictions a label may still be matched to."
    )
    min_rows: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Fewer labelled rows than this: prior shift and performance are not judged."
    )

    @model_validator(mode="after")
    def _key_for_later(self) -> LabelsConfig:
        if self.arrive == "later" and not self.key:
            raise ValueError(
                "key: labels that arrive later need the column(s) that match them to predictions"
            )
        return self


class CovariateTriggerConfig(_Strict):
    """Covariate drift (drift.threshold on the share of drifted columns) as a retrain trigger."""

    enabled: bool = True


class ThresholdTriggerConfig(_Strict):
    """A distribution signal (PSI) that triggers retraining past its threshold, when enabled."""

    enabled: bool = False
    threshold: Annotated[float, Field(gt=0)] = Field(
        default=0.2, description="Population stability index at or above which the signal fires."
    )


class PerformanceTriggerConfig(_Strict):
    """The gate metric on rows whose labels arrived, as a retrain trigger."""

    enabled: bool = False
    max_drop: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="Fire when the metric is worse than the champion's held-out score by more."
    )
    floor: float | None = Field(
        default=None, description="Fire when the metric is worse than this (a ceiling for lower-is-better)."
    )

    @model_validator(mode="after")
    def _bound(self) -> PerformanceTriggerConfig:
        if self.enabled and self.max_drop is None and self.floor is None:
            raise ValueError("enabled: set max_drop or floor, the bound the realized metric is held to")
        return self


class TriggersConfig(_Strict):
    """Which monitoring signals queue a retrain; each has its own threshold."""

    covariate_drift: CovariateTriggerConfig = CovariateTriggerConfig()
    prediction_drift: ThresholdTriggerConfig = ThresholdTriggerConfig()
    prior_shift: ThresholdTriggerConfig = ThresholdTriggerConfig()
    performance: PerformanceTriggerConfig = PerformanceTriggerConfig()


class MonitorConfig(_Strict):
    """Signals beyond covariate drift: prediction drift, prior shift and realized performance."""

    labels: LabelsConfig = LabelsConfig()
    triggers: TriggersConfig = TriggersConfig()


class ValidationConfig(_Strict):
    """The Great Expectations suite and what a failing batch does."""

    suite: str = Field(
        description="A file name in AIRFLOW_MLOPS_EXPECTATIONS_DIR (no folders), ending in .json."
    )
    on_failure: Literal["fail", "quarantine"] = "fail"
    max_duplicate_share: Annotated[float, Field(ge=0, lt=1)] = Field(
        default=0.0, description="Share of rows that may repeat another row exactly (0: none may)."
    )

    @field_validator("suite")
    @classmethod
    def _file_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*\.json", v):
            raise ValueError(
                f"{v!r} must be a file name in the expectations folder, such as flights_delay.json (no folders)"
            )
        return v


class SchedulesConfig(_Strict):
    """When the pipeline's DAGs run."""

    ingest: str = "@daily"
    train: str | None = None
    start_date: date
    end_date: date | None = None
    catchup: bool = False

    @field_validator("ingest", "train")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        problem = None if v is None else config_rules.cron_problem(v)
        if problem:
            raise ValueError(problem)
        return v


class TasksConfig(_Strict):
    """Retries and timeouts applied to every task of the pipeline."""

    retries: Annotated[int, Field(ge=0, le=10)] = 2
    retry_delay_seconds: Annotated[float, Field(ge=0, le=MAX_MINUTES * 60)] = 60
    retry_backoff: Annotated[float, Field(ge=0, le=10)] = Field(
        default=2.0,
        description="Multiplier of the delay between retries (2: each wait doubles); 0 keeps it constant. "
        "A dead server (MLflow, S3) gets time to come back instead of being hit at a fixed pace.",
    )
    max_retry_delay_seconds: Annotated[float, Field(gt=0, le=MAX_MINUTES * 60)] = 1800
    timeout_minutes: Annotated[float, Field(gt=0, le=MAX_MINUTES)] = 60


AlertKind = Literal[
    "validation_failed",
    "quarantined",
    "drift",
    "promoted",
    "refused",
    "approval_pending",
    "rolled_back",
    "run_failed",
]
ALERT_KINDS: tuple[AlertKind, ...] = get_args(AlertKind)
_CONN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class AlertsConfig(_Strict):
    """Who is told of a pipeline's events, and how. Addresses of receivers that hold a secret (a
    webhook URL with a token, SMTP credentials) live in Airflow connections, never in the YAML."""

    webhook_conn_id: str | None = Field(
        default=None, description="Airflow HTTP connection of a Slack-compatible webhook (JSON POST)."
    )
    email_conn_id: str | None = Field(
        default=None, description="Airflow SMTP connection to send mail through."
    )
    email_to: list[str] = Field(default_factory=list, validate_default=True)
    on: list[AlertKind] = Field(default_factory=lambda: list(ALERT_KINDS))
    view_url: str | None = Field(
        default=None, description="Base URL of the Airflow UI in links; default Airflow's [api] base_url."
    )

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean true.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @field_validator("webhook_conn_id", "email_conn_id")
    @classmethod
    def _conn_id(cls, v: str | None) -> str | None:
        if v is not None and not _CONN_ID.match(v):
            raise ValueError(
                f"{v!r} is not an Airflow connection id (letters, digits, '_', '.', '-'); "
                "put the URL or server in an Airflow connection and name it here"
            )
        return v

    @field_validator("email_to")
    @classmethod
    def _email_to(cls, v: list[str], info: ValidationInfo) -> list[str]:
        bad = [a for a in v if not _EMAIL.match(a)]
        if bad:
            raise ValueError(f"not e-mail addresses: {bad}")
        if v and not info.data.get("email_conn_id"):
            raise ValueError(
                "addresses are given but alerts.email_conn_id (an Airflow SMTP connection) is not set"
            )
        if info.data.get("email_conn_id") and not v:
            raise ValueError(
                f"alerts.email_conn_id is {info.data['email_conn_id']!r} but no address to send to"
            )
        return v

    @field_validator("on")
    @classmethod
    def _on(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError(f"empty: list some of {list(ALERT_KINDS)}, or remove the alerts section")
        dupes = sorted({k for k in v if v.count(k) > 1})
        if dupes:
            raise ValueError(f"{dupes} listed twice")
        return v

    @field_validator("view_url")
    @classmethod
    def _view_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.fullmatch(r"https?://[^\s/@?#]+(/[^\s?#]*)?", v):
            raise ValueError(
                f"{v!r} must be the http(s) base URL of the Airflow UI, such as https://airflow.example.com, "
                "without credentials, query or fragment"
            )
        return v.rstrip("/")

    @property
    def enabled(self) -> bool:
        """Some receiver is configured: otherwise no alert is built or sent."""
        return bool(self.webhook_conn_id or self.email_conn_id)

    def wants(self, kind: str) -> bool:
        """An alert of ``kind`` goes out."""
        return self.enabled and kind in self.on


class PipelineConfig(_Strict):
    """One pipeline, as read from include/pipelines/<name>.yaml."""

    name: str
    description: str = ""
    owner: str = "airflow-mlops"
    tags: list[str] = Field(default_factory=list)
    source: SourceConfig
    data_schema: SchemaConfig = Field(alias="schema")
    features: FeaturesConfig
    model: ModelConfig
    split: SplitConfig = SplitConfig()
    metrics: list[str]
    gate: GateConfig
    drift: DriftConfig = DriftConfig()
    validation: ValidationConfig
    schedules: SchedulesConfig
    tasks: TasksConfig = TasksConfig()
    alerts: AlertsConfig = AlertsConfig()
    monitor: MonitorConfig = MonitorConfig()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not PIPELINE_NAME.match(v):
            raise ValueError("must be lower case letters, digits and underscores, starting with a letter")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> PipelineConfig:
        config_rules.check(self)
        return self

    # Derived names, kept in one place so that every stage agrees on them.
    @property
    def registered_model_name(self) -> str:
        return self.model.registered_name or self.name

    @property
    def experiment_name(self) -> str:
        return f"airflow-mlops/{self.name}"

    @property
    def drift_columns(self) -> list[str]:
        return list(self.drift.columns or self.features.all)

    @property
    def raw_columns(self) -> list[str]:
        """Columns read from the raw file: declared columns that are not derived."""
        return [c for c in self.data_schema.columns if c not in self.data_schema.derive]

    @property
    def config_hash(self) -> str:
        """Hash of the effective configuration: a model version records the config that made it.

        ``alerts`` is left out: who is told of events changes no data and no model, so editing it
        must not make the same data and config look new to training. ``monitor`` is left out for
        the same reason: it changes what is watched and when a retrain is asked for, not what is
        trained. Fields added later (:data:`LATER_FIELDS`) are left out when unset (None), so
        configs without them keep the hash they had before those fields existed.
        """
        dump = self.model_dump(mode="json", by_alias=True, exclude={"alerts", "monitor"})
        for path in LATER_FIELDS:
            *parents, leaf = path.split(".")
            section = dump
            for part in parents:
                section = section.get(part) or {}
            if section.get(leaf) is None:
                section.pop(leaf, None)
        blob = json.dumps(dump, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def expand_env(text: str, source: str, defaults: dict[str, str] | None = None, shown: bool = False) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; an unset variable without default is an error.

    ``defaults`` are the project's own variables (e.g. ``AIRFLOW_MLOPS_RAW_ROOT``), used when unset.
    ``shown=True`` expands only the project's own ``AIRFLOW_MLOPS_*`` variables and keeps the others
    as written, for text that is displayed or stored.
    """

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if shown and not name.startswith("AIRFLOW_MLOPS_"):
            return m.group(0)
        value = os.environ.get(name) or (defaults or {}).get(name)
        if value is None:
            if default is None:
                raise ConfigError(f"{source}: environment variable {name} is not set and has no default")
            return default
        return value

    return _ENV.sub(sub, text)


def _expand_values(value: Any, source: str, defaults: dict[str, str]) -> Any:
    """Expand environment variables in string values only (not in comments or keys)."""
    if isinstance(value, str):
        return expand_env(value, source, defaults)
    if isinstance(value, dict):
        return {k: _expand_values(v, source, defaults) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_values(v, source, defaults) for v in value]
    return value


def _loc(loc: tuple[int | str, ...], msg: str = "") -> str:
    if not loc and re.match(r"[a-z_]+(\.[a-z_]+|\[\d+\])*: ", msg):
        return ""  # a rule across sections: its message starts with the field at fault
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_pipeline(text: str, source: str) -> PipelineConfig:
    """Parse one pipeline's YAML text; ``source`` names it in error messages."""
    from airflow_mlops.core.foundation.settings import get_settings

    defaults = {"AIRFLOW_MLOPS_RAW_ROOT": get_settings().raw_root}
    # Bounded (size, nesting, alias expansion, time) before the document is built: see yamlload.
    data = load_yaml(text, source)
    raw = data
    data = _expand_values(data, source, defaults)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of fields at the top level")
    try:
        cfg = PipelineConfig.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (not part of the pipeline schema; check its spelling)"
            for line in msg.splitlines():
                where = _loc(err["loc"], line)
                problems.append(f"{source}: {where}: {line}" if where else f"{source}: {line}")
        raise ConfigError("\n".join(problems)) from None
    if cfg.source.uri is not None:
        cfg.source._shown = expand_env(raw["source"]["uri"], source, defaults, shown=True)
    return cfg


def read_text(path: Path, what: str = "") -> str:
    """A config file's text, or a ConfigError naming the file and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: {what}cannot be read: {e.strerror or e}") from e


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read and check one pipeline file."""
    from airflow_mlops.core.foundation.settings import get_settings

    p = Path(path)
    cfg = parse_pipeline(read_bounded(p), str(p))
    roots = get_settings().source_roots
    if cfg.source.uri is not None and not any(cfg.source.uri.startswith(f"{r}/") for r in roots):
        raise ConfigError(
            f"{p}: source.uri: {cfg.source.shown_uri!r} is outside the allowed source roots {list(roots)} "
            "(AIRFLOW_MLOPS_SOURCE_ROOTS, comma-separated; default AIRFLOW_MLOPS_RAW_ROOT)"
        )
    cfg.source._roots = roots
    if cfg.name != p.stem:
        raise ConfigError(f"{p}: name: {cfg.name!r} must match the file name {p.stem!r}")
    return cfg


def folder_problem(folder: Path) -> str | None:
    """Why a pipelines folder holds nothing to load (missing, or no ``*.yaml``), or None: the DAG
    factory and ``check`` refuse both, so a deployment or a CI gate that loads nothing is named."""
    if not folder.is_dir():
        return f"{folder}: pipelines folder does not exist (AIRFLOW_MLOPS_PIPELINES_DIR)"
    if not any(folder.glob("*.yaml")):
        return f"{folder}: no pipeline files (*.yaml) in the pipelines folder"
    return None


def load_pipelines(
    source: str | Path | list[Path],
) -> tuple[list[PipelineConfig], list[ConfigError]]:
    """Every pipeline of a directory (or of these files), and the errors of those that failed: one
    bad file spoils no other, but pipelines that share a registered model are all refused."""
    good: list[tuple[Path, PipelineConfig]] = []
    bad: list[ConfigError] = []
    paths = [Path(p) for p in source] if isinstance(source, list) else sorted(Path(source).glob("*.yaml"))
    for path in paths:
        try:
            good.append((path, load_pipeline(path)))
        except ConfigError as e:
            bad.append(e)
        except Exception as e:  # a check that failed unexpectedly still spoils only this file
            bad.append(ConfigError(f"{path}: could not be checked: {type(e).__name__}: {e}"))
    # Two pipelines on one registered model would judge each other's candidates: neither may run.
    owners: dict[str, list[str]] = {}
    for _, cfg in good:
        owners.setdefault(cfg.registered_model_name, []).append(cfg.name)
    shared = {m: names for m, names in owners.items() if len(names) > 1}
    bad += [
        ConfigError(
            f"{path}: model.registered_name: {cfg.registered_model_name!r} is the registered model of "
            f"pipelines {shared[cfg.registered_model_name]}; each pipeline needs its own"
        )
        for path, cfg in good
        if cfg.registered_model_name in shared
    ]
    return [cfg for _, cfg in good if cfg.registered_model_name not in shared], bad
