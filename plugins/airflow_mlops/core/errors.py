"""The few named errors of airflow-mlops.

Each message names the thing at fault (file, field, column, expectation or metric) so that a
person reading a task log or a DAG import error knows what to fix without reading code.
"""

from __future__ import annotations


class MlopsError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(MlopsError):
    """A pipeline YAML file (or a setting) is invalid: names the file, the field and the problem."""


class DataContractError(MlopsError):
    """Raw data does not match the pipeline's schema: names the file and the column."""


class DataNotFoundError(MlopsError):
    """The data a stage needs is not where it should be: names the path."""


class UnsafeSourceError(MlopsError):
    """A source path that resolves outside the allowed source roots (a symlink, ``..``): refused
    before a byte of it is read, and never copied or quoted."""


class VanishedDataError(DataNotFoundError):
    """An interval ingest committed (its ledger says so) is gone from the lake: names the interval."""


class LakeWriteError(MlopsError):
    """A write to the lake failed (disk, network, endpoint): names the URI being written."""


class NoChampionError(MlopsError):
    """No model has been promoted yet: there is nothing to score with."""


class PromotionConflictError(MlopsError):
    """The champion alias kept moving while a candidate was judged; a retry judges it again."""


class UntrustedModelError(MlopsError):
    """A model version this project did not make, or whose file could run code when loaded."""


class LockTimeoutError(MlopsError):
    """A lock in the lake stayed held by another holder for longer than the caller would wait."""
