"""What every section of a pipeline's config shares: the strict model, names and limits, and the
fields added later (left out of the config hash while unset)."""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
)

#: The column training adds to its rows: the data interval each row came from (never a schema column).
RESERVED_COLUMN: Final = "_mlops_interval"

ColumnType = Literal["int", "float", "string", "category", "bool", "datetime", "date"]
#: Longest wait or timeout (30 days): larger ones overflow the durations Airflow builds from them.
MAX_MINUTES: Final = 60 * 24 * 30

#: What a pipeline name may be: it names DAGs, registered models and paths in the lake.
PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


#: Fields added after models were first registered, by their path in the YAML (``schema``, not
#: ``data_schema``). Each must default to None; while unset it is left out of ``config_hash``, so an
#: existing pipeline keeps its hash (and "nothing new to train on" keeps working). Add every new
#: field that changes what is trained here.
#: (``source.sql`` was one until the source kinds: a files source has no such field, so its dump
#: leaves it out by itself, and :class:`~.source.SqlSourceConfig` dumps as it did.)
LATER_FIELDS: tuple[str, ...] = (
    "model.search",
    "gate.min_holdout_rows",
    "schema.free_text",
    "split.on_vanished",
)


class Strict(BaseModel):
    # No NaN or infinity anywhere: `minimum: .nan` would make every comparison false.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)
