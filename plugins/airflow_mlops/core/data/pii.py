"""Columns declared in ``schema.pii``, hashed with a secret key (or dropped) before anything else
looks at the rows, so raw personal data never reaches the lake, error messages or the quarantine."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

#: Hex characters of HMAC-SHA256 kept per hashed value: 128 bits, no collisions in practice.
PII_HASH_CHARS = 32
MIN_PII_KEY_BYTES = 16


def require_pii_key(cfg: PipelineConfig, key: bytes | None) -> bytes | None:
    """The key when the pipeline hashes columns; a ConfigError saying how to set it when absent."""
    schema = cfg.data_schema
    if not schema.pii_hashed:
        return None
    name = schema.pii_key_variable
    how = f"set it with `airflow variables set {name} <random secret>` (e.g. `openssl rand -hex 32`)"
    if not key:
        raise ConfigError(
            f"{cfg.name}: schema.pii hashes {schema.pii_hashed}, but the Airflow Variable {name!r} "
            f"(schema.pii_key_variable) holding the key is not set: {how}"
        )
    if len(key) < MIN_PII_KEY_BYTES:
        raise ConfigError(
            f"{cfg.name}: the key in the Airflow Variable {name!r} (schema.pii_key_variable) is shorter "
            f"than {MIN_PII_KEY_BYTES} bytes, too easy to guess; {how}"
        )
    return key


def pii_hash(key: bytes, value: object) -> str:
    """HMAC-SHA256 of ``str(value)``: equal values give equal hashes (joins and categories still
    work), and without the key nobody can hash a list of guesses to find them."""
    return hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:PII_HASH_CHARS]


def hide_pii(df: pd.DataFrame, cfg: PipelineConfig, key: bytes | None) -> pd.DataFrame:
    """The raw frame with ``schema.pii`` columns hashed or dropped (nulls stay null), before any
    later step (or its error message) sees a raw value; a missing column is left to normalize."""
    import pandas as pd

    schema = cfg.data_schema
    if not schema.has_pii:
        return df
    key = require_pii_key(cfg, key)
    dropped = [c for c, how in schema.pii.items() if how == "drop" and c in df.columns]
    out = df.drop(columns=dropped)
    if key is None:  # nothing to hash (require_pii_key raised if something was)
        return out
    for col in schema.pii_hashed:
        if col not in out.columns:
            continue
        # Each distinct value is hashed once; code -1 (a null) becomes <NA>.
        codes, uniques = pd.factorize(out[col], use_na_sentinel=True)
        hashed = pd.array([pii_hash(key, v) for v in uniques], dtype="string")
        out[col] = pd.Series(hashed.take(codes, allow_fill=True), index=out.index, dtype="string")
    return out
