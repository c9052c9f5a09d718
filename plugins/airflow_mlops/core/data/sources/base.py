"""What every source of raw data answers, whatever its kind (``source.kind``): where an interval's
data is, whether it is ready, its rows (frames ingest treats alike for every kind) and what the
quarantine keeps of a refused interval. A source reads through a *connection*: the Airflow hook its
class names by path (:attr:`Source.hook`), built by the adapters (tests hand in look-alikes).
Each kind is a module named as the kind (``files.py``, ``sql.py``) exposing ``SOURCE``, with a
config model in :mod:`airflow_mlops.core.foundation.config.source`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_mlops.core.foundation.config import SOURCE_KINDS, PipelineConfig
from airflow_mlops.core.foundation.errors import ConfigError

if TYPE_CHECKING:
    import fsspec
    import pandas as pd

#: A frame of raw rows, with how errors name where they came from.
Frame = tuple[str, "pd.DataFrame"]
#: A run's data interval (start, end), or None where the caller does not know it (the CLI).
Interval = tuple[datetime, datetime] | None


@dataclass
class Batch:
    """One interval's data as its source opened it: ``readings``, ways to read the rows, fastest
    first (ingest tries the next when one raises ``pyarrow.ArrowInvalid``); ``files``, what the
    quarantine may copy; ``record``, for the manifest and the quarantine record (a SQL statement)."""

    readings: list[Callable[[], Iterator[Frame]]]
    files: tuple[fsspec.AbstractFileSystem, list[str]] | None = None
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kept:
    """What the quarantine keeps of a refused interval: copies of ``files`` (None: nothing) and a
    ``note`` telling a reader why nothing else is there."""

    files: tuple[fsspec.AbstractFileSystem, list[str]] | None
    note: str | None
    record: Mapping[str, Any]


class Source(ABC):
    """The raw data of one pipeline, one data interval at a time."""

    #: ``source.kind``: also the name of the module the class lives in.
    kind: ClassVar[str]
    #: Dotted path of the Airflow hook the source reads through, built with :attr:`conn_id`
    #: (core never imports Airflow; :func:`airflow_mlops.hooks.source.connect` builds it).
    hook: ClassVar[str]

    def __init__(self, cfg: PipelineConfig) -> None:
        self.cfg = cfg

    @property
    def kept_in_quarantine(self) -> str:
        """How the operator says what the quarantine keeps ("The reason is kept in ...")."""
        return "The reason is"

    @property
    @abstractmethod
    def conn_id(self) -> str | None:
        """The Airflow connection the source reads through (None: the hook's default)."""

    @abstractmethod
    def where(self, ds: str, *, shown: bool = True) -> str:
        """Where interval ``ds``'s data is. ``shown=True``: the form that may be shown and stored
        (no expanded secret); ``False``: the form the connection reads."""

    @abstractmethod
    def readiness(self, ds: str, interval: Interval) -> dict[str, Any] | None:
        """What to ask to know whether the interval's data is ready, as JSON (a trigger's kwargs
        carry it to the triggerer); None: nothing to wait for."""

    @classmethod
    @abstractmethod
    def ready(cls, check: Mapping[str, Any], conn: Any) -> bool:
        """Whether ``check`` (from :meth:`readiness`) holds now, asked through ``conn``."""

    @abstractmethod
    def open(self, ds: str, interval: Interval, conn: Any) -> Batch:
        """The interval's data, ready to be read; a DataContractError here is quarantined with
        nothing opened."""

    def kept(self, ds: str, batch: Batch | None) -> Kept:
        """What the quarantine keeps of refused interval ``ds`` (``batch`` None: it did not open)."""
        return Kept(None, None, batch.record if batch else {})


def source_class(kind: str) -> type[Source]:
    """The class of ``kind``: ``SOURCE`` of this package's module of that name."""
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"source.kind: {kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    cls: type[Source] = importlib.import_module(f"{__package__}.{kind}").SOURCE
    return cls


def source_of(cfg: PipelineConfig) -> Source:
    """The source of pipeline ``cfg``, by its ``source.kind``."""
    return source_class(cfg.source.kind)(cfg)
