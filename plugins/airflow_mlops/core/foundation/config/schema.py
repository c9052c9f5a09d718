"""The data contract (columns, target, keys, PII) and the model's inputs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from airflow_mlops.core.foundation.config.base import RESERVED_COLUMN, ColumnType, Strict
from airflow_mlops.core.foundation.config.metrics import TaskType


class SchemaConfig(Strict):
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


class FeaturesConfig(Strict):
    """Model inputs; preprocessing is derived from these lists."""

    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]
