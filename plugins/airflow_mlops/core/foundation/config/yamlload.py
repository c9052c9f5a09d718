"""Loading a pipeline's YAML with bounded work: size, nesting, alias expansion, time, duplicate keys.

The DAG processor loads every pipeline file at every parse: a YAML alias bomb of a few hundred
bytes ran for minutes at 3.5 GB. So the event stream is counted first (nodes after alias expansion,
depth, time). A duplicate key is refused: a second ``gate:`` would silently replace the first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from airflow_mlops.core.foundation.errors import ConfigError

#: Largest pipeline file read (the shipped ones are about 3 KB).
MAX_BYTES: Final = 256 * 1024
#: Most nodes (scalars, lists, mappings) a file may expand to, aliases expanded (shipped: ~300).
MAX_NODES: Final = 20_000
#: Deepest nesting of lists and mappings (the schema needs 5).
MAX_DEPTH: Final = 32
#: Longest time the pre-pass may take.
MAX_SECONDS: Final = 2.0

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class _Frame:
    """An open list or mapping: its anchor, the nodes it holds so far, and (mappings) its keys."""

    anchor: str | None
    mapping: bool
    nodes: int = 1
    keys: dict[str, int] = field(default_factory=dict)
    expect_key: bool = True


def read_bounded(path: Path) -> str:
    """A config file's text, refused unread beyond :data:`MAX_BYTES`."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read: {e.strerror or e}") from e
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES // 1024} KiB, the most a pipeline file may be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}: {data[e.start : e.start + 1]!r})") from e


def _line(event: Any) -> int:
    return int(event.start_mark.line) + 1 if event.start_mark is not None else 0


def check_bounds(text: str, source: str) -> None:
    """Refuse ``text`` if loading it would cross a bound; never builds the document."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ConfigError(f"{source}: larger than {MAX_BYTES // 1024} KiB, the most a pipeline file may be")
    deadline = time.monotonic() + MAX_SECONDS
    sizes: dict[str, int] = {}  # anchor -> nodes of the node it names, aliases expanded
    stack: list[_Frame] = []
    total = 0
    try:
        for n, event in enumerate(yaml.parse(text, Loader=_LOADER)):
            if n % 512 == 0 and time.monotonic() > deadline:
                raise ConfigError(f"{source}: took more than {MAX_SECONDS:g} s to read; refused")
            if isinstance(event, yaml.CollectionStartEvent):
                _key_or_value(stack, event, source)
                stack.append(_Frame(event.anchor, isinstance(event, yaml.MappingStartEvent)))
                if len(stack) > MAX_DEPTH:
                    raise ConfigError(
                        f"{source}: line {_line(event)}: nested deeper than {MAX_DEPTH} levels; refused"
                    )
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                done = stack.pop()
                if done.anchor:
                    sizes[done.anchor] = done.nodes
                added = done.nodes
            elif isinstance(event, yaml.ScalarEvent):
                _key_or_value(stack, event, source)
                if event.anchor:
                    sizes[event.anchor] = 1
                added = 1
            elif isinstance(event, yaml.AliasEvent):
                _key_or_value(stack, event, source)
                added = sizes.get(event.anchor or "", 1)
            else:
                continue
            if stack:
                stack[-1].nodes += added
            else:
                total += added
            expanded = total + sum(f.nodes for f in stack)
            if expanded > MAX_NODES:
                raise ConfigError(
                    f"{source}: line {_line(event)}: expands to more than {MAX_NODES} values "
                    "(YAML aliases repeating aliases); refused unread"
                )
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML: {e}") from e


def _key_or_value(stack: list[_Frame], event: Any, source: str) -> None:
    """Track whether ``event`` is a key or a value of the open mapping; refuse a repeated key."""
    if not stack or not stack[-1].mapping:
        return
    frame = stack[-1]
    if frame.expect_key and isinstance(event, yaml.ScalarEvent) and event.value != "<<":
        first = frame.keys.get(event.value)
        if first is not None:
            raise ConfigError(
                f"{source}: line {_line(event)}: key {event.value!r} given twice in one mapping "
                f"(first on line {first}); YAML would keep only the last"
            )
        frame.keys[event.value] = _line(event)
    frame.expect_key = not frame.expect_key


def load_yaml(text: str, source: str) -> Any:
    """The document of ``text`` once :func:`check_bounds` passed."""
    check_bounds(text, source)
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML: {e}") from e
