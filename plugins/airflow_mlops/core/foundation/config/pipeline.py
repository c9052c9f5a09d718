"""One pipeline as a whole: its sections, its hash, and reading it from YAML."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from airflow_mlops.core.foundation.config import rules
from airflow_mlops.core.foundation.config.base import LATER_FIELDS, PIPELINE_NAME, Strict
from airflow_mlops.core.foundation.config.model import GateConfig, ModelConfig, SplitConfig
from airflow_mlops.core.foundation.config.monitor import DriftConfig, MonitorConfig
from airflow_mlops.core.foundation.config.operations import (
    AlertsConfig,
    SchedulesConfig,
    TasksConfig,
    ValidationConfig,
)
from airflow_mlops.core.foundation.config.schema import FeaturesConfig, SchemaConfig
from airflow_mlops.core.foundation.config.source import SOURCE_KINDS, FilesSourceConfig, SourceConfig
from airflow_mlops.core.foundation.config.yamlload import load_yaml, read_bounded
from airflow_mlops.core.foundation.errors import ConfigError

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class PipelineConfig(Strict):
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
        rules.check(self)
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

        ``alerts`` and ``monitor`` are left out: they change no data and no model. Fields added later
        (:data:`LATER_FIELDS`) are left out when unset, so older configs keep their hash.
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
    """Replace ``${VAR}`` and ``${VAR:-default}`` (unset without default: an error; ``defaults`` for
    the project's own). ``shown=True`` expands only ``AIRFLOW_MLOPS_*``, for text displayed or stored."""

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
    if loc[:1] == ("source",) and loc[1:2] and loc[1] in SOURCE_KINDS:
        loc = loc[:1] + loc[2:]  # the union's tag: the YAML has no such level
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
    if isinstance(cfg.source, FilesSourceConfig):
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
    files = cfg.source if isinstance(cfg.source, FilesSourceConfig) else None
    if files is not None and not any(files.uri.startswith(f"{r}/") for r in roots):
        raise ConfigError(
            f"{p}: source.uri: {cfg.source.shown_uri!r} is outside the allowed source roots {list(roots)} "
            "(AIRFLOW_MLOPS_SOURCE_ROOTS, comma-separated; default AIRFLOW_MLOPS_RAW_ROOT)"
        )
    if files is not None:
        files._roots = roots
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
