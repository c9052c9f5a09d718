"""The scaffold's pipeline file: built as the config model (so no field name or quoting of its own
can drift from what ``load_pipeline`` reads), written by YAML's safe dumper with a comment on
every decision a person should know about, and read back to the same model before it is returned.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from airflow_mlops.core.data.scaffold.plan import Scaffold
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.config.yamlload import load_yaml
from airflow_mlops.core.foundation.errors import ConfigError

#: Top-level fields written together at the head of the file; every other one gets a blank line.
_HEAD = ("name", "description", "owner", "tags")


class _Dumper(yaml.SafeDumper):
    """YAML's safe dumper, with lists of plain values in flow style (``[a, b]``), as people write them."""


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    flow = all(not isinstance(i, dict | list) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def _dump(mapping: dict[str, Any]) -> str:
    """One mapping as YAML block text, in the given order, never folded."""
    return yaml.dump(
        mapping, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=2**16
    )


def _comment(text: str, indent: str = "") -> str:
    """``text`` as one comment line: a line break (a file name may hold one) must not end the
    comment and start YAML of its own."""
    return f"{indent}# {' '.join(text.splitlines())}"


def pipeline_config(sc: Scaffold) -> PipelineConfig:
    """The pipeline ``sc`` decided, as the config model (only the fields the scaffold sets, so the
    file shows those and the rest keep their defaults)."""
    estimator = "HistGradientBoosting" + ("Classifier" if sc.task == "classification" else "Regressor")
    data: dict[str, Any] = {
        "name": sc.name,
        "description": f"Predict {sc.target} ({sc.task}); scaffolded from a sample, to be reviewed.",
        "owner": "airflow-mlops",
        "tags": ["scaffolded", sc.task],
        "source": {"uri": f"${{AIRFLOW_MLOPS_RAW_ROOT}}/{sc.name}/{{ds}}.{sc.format}", "format": sc.format},
        "schema": {
            "columns": {c: p.kind for c, p in sc.columns.items()},
            "target": sc.target,
            "task": sc.task,
            **({"time_column": sc.time_column} if sc.time_column else {}),
        },
        "features": {"numeric": sc.numeric, "categorical": sc.categorical},
        "model": {"estimator": f"sklearn.ensemble.{estimator}", "params": {"max_iter": 100}},
        "split": {"training_window_days": 14, "test_fraction": 0.2, "min_training_rows": 100},
        "metrics": sc.metrics,
        "gate": {"metric": sc.gate_metric, "minimum": sc.gate_minimum, "min_improvement": 0.0},
        "validation": {"suite": f"{sc.name}.json", "on_failure": "fail"},
        "schedules": {"ingest": "@daily", "train": None, "start_date": sc.start_date, "catchup": False},
    }
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_problems(f"{sc.name}.yaml", e)) from None


def _problems(where: str, e: ValidationError) -> str:
    """One line per problem, each naming the file and the field (a rule across sections names its
    field in its message, as ``parse_pipeline`` shows it)."""
    lines = []
    for err in e.errors():
        field = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {field}: {msg}" if field else f"{where}: {msg}")
    return "\n".join(lines)


def _notes(sc: Scaffold) -> dict[str, str]:
    """The comment written above a section (``gate``) or a field (``schema.task``)."""
    return {
        "source": "REVIEW: where each data interval's raw file arrives ({ds} is the interval's first day).",
        "schema.columns": f"Types as ingest reads {sc.sample.name}: each is the first that every "
        "sample value converts to.",
        "schema.task": sc.task_reason,
        "gate": f"REVIEW: a floor a first model must clear ({sc.gate_reason}), not a goal.",
        "schedules": "REVIEW: when data arrives, and when to retrain (null: on demand and on drift).",
    }


def _column_note(sc: Scaffold, column: str) -> str | None:
    notes: dict[str | None, str] = {c: f"not a feature: {why}" for c, why in sc.left_out.items()}
    return {**notes, sc.time_column: "the time column", sc.target: "the target"}.get(column)


def _column_lines(sc: Scaffold) -> list[str]:
    """``schema.columns``, one line per column with its types aligned and the note on it beside."""
    entries = [(_dump({c: p.kind}).rstrip("\n"), _column_note(sc, c)) for c, p in sc.columns.items()]
    width = max((len(e.rsplit(": ", 1)[0]) for e, _ in entries if "\n" not in e), default=0)
    out: list[str] = []
    for entry, note in entries:
        if "\n" in entry:  # a key too long for YAML's one-line form: written as YAML writes it
            out += [_comment(note, "    ")] if note else []
            out += [f"    {line}" for line in entry.splitlines()]
            continue
        key, kind = entry.rsplit(": ", 1)  # the kind is a plain word: the last ": " ends the key
        out.append(f"    {key + ':':<{width + 1}} {kind}" + (f"  {_comment(note)}" if note else ""))
    return out


def pipeline_yaml(sc: Scaffold) -> str:
    """The pipeline file, with a comment on every decision a person should know about; read back
    to the same model before it is returned."""
    cfg = pipeline_config(sc)
    notes = _notes(sc)
    lines = [
        _comment(f"{sc.name}: written by `airflow-mlops init` from {sc.sample.name} ({sc.rows} rows)."),
        "# A starting point, not a finished pipeline: read the REVIEW notes, then `airflow-mlops check`.",
    ]
    for key, value in cfg.model_dump(by_alias=True, exclude_unset=True).items():
        if key not in _HEAD:
            lines.append("")
        if not isinstance(value, dict):
            lines.append(_dump({key: value}).rstrip("\n"))
            continue
        lines.append(f"{key}:")
        lines += [_comment(notes[key], "  ")] if key in notes else []
        for field, v in value.items():
            lines += [_comment(notes[f"{key}.{field}"], "  ")] if f"{key}.{field}" in notes else []
            if (key, field) == ("schema", "columns"):
                lines += ["  columns:", *_column_lines(sc)]
            else:
                lines += [f"  {line}" for line in _dump({field: v}).splitlines()]
        if key == "schema" and sc.time_column is None:
            lines += [
                "  # No time_column: each record takes its batch's data interval as its time",
                "  # (run init with --time-column if a column says when a record happened).",
            ]
    text = "\n".join(lines) + "\n"
    read_back(text, cfg, f"{sc.name}.yaml")
    return text


def read_back(text: str, cfg: PipelineConfig, where: str) -> None:
    """Refuse a written pipeline that does not load as ``cfg`` again: a file ``init`` writes must
    say exactly what it decided."""
    try:
        again = PipelineConfig.model_validate(load_yaml(text, where))
    except ValidationError as e:
        raise ConfigError(
            f"{_problems(where, e)}\n(the file init wrote does not read back: a bug of init)"
        ) from None
    if again != cfg:
        before, after = cfg.model_dump(by_alias=True), again.model_dump(by_alias=True)
        fields = [k for k in before if before[k] != after.get(k)]
        raise ConfigError(
            f"{where}: the file init wrote reads back different in {', '.join(fields) or 'its private state'} "
            "(a bug of init): nothing was written"
        )
