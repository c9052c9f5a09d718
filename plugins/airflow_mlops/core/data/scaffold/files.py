"""Writing the scaffold: both files checked as ``airflow-mlops check`` checks them, then each
renamed into place; nothing is left half written."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import suppress
from pathlib import Path

from airflow_mlops.core.data.scaffold.pipeline_file import pipeline_yaml
from airflow_mlops.core.data.scaffold.plan import Scaffold
from airflow_mlops.core.data.scaffold.suite_file import suite
from airflow_mlops.core.foundation.config import parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError
from airflow_mlops.core.foundation.lake import write_synced


def write(
    sc: Scaffold, pipelines_dir: Path, expectations_dir: Path, *, force: bool = False
) -> tuple[Path, Path]:
    """Write ``<pipelines_dir>/<name>.yaml`` and ``<expectations_dir>/<name>.json`` (existing files
    only with ``force``)."""
    from airflow_mlops.core.data.suite import check_columns, load_suite

    yaml_path = Path(pipelines_dir) / f"{sc.name}.yaml"
    json_path = Path(expectations_dir) / f"{sc.name}.json"
    existing = [str(p) for p in (yaml_path, json_path) if p.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing)}: already exist(s); pass --force to overwrite")
    text = pipeline_yaml(sc)
    cfg = parse_pipeline(text, str(yaml_path))  # a bug here must not reach the user's folder
    staged: list[tuple[str, Path]] = []
    try:
        staged.append((_stage(yaml_path, text), yaml_path))
        tmp_suite = _stage(json_path, json.dumps(suite(sc), indent=2) + "\n")
        staged.append((tmp_suite, json_path))
        check_columns(load_suite(Path(tmp_suite)), json_path, cfg)
        for tmp, dst in staged:
            os.replace(tmp, dst)
    finally:
        for tmp, _ in staged:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
    return yaml_path, json_path


def _stage(dst: Path, text: str) -> str:
    """``text`` in a temporary file beside ``dst``, flushed to disk. Not ``Lake.write_text``: its
    temporary name keeps the ``.yaml`` suffix, which the DAG factory's ``*.yaml`` glob would read."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write_synced(tmp, text)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp
