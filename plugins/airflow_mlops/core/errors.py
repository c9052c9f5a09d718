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


class ValidationFailedError(MlopsError):
    """A batch failed its Great Expectations suite: lists the failing expectations."""


class GateRejectedError(MlopsError):
    """A candidate model did not pass the promotion gate (raised only when asked to fail on rejection)."""
