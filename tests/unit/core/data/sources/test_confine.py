"""Source paths are resolved and confined to the allowed source roots before a byte is read.

Each way a path can lead out of the raw root is tried through a real ingest on real files: the
refusal names the path, never the file's content, and nothing of the file reaches the lake (no
quarantine copy, no partition, no staging leftover).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.sources import confine, rawfile
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, load_pipeline
from airflow_mlops.core.foundation.errors import UnsafeSourceError
from airflow_mlops.core.foundation.lake import Lake
from dev.datasets import write_flights
from tests.unit.core.conftest import FLIGHTS_YAML

pytestmark = pytest.mark.unit
DAY = "2013-01-02"
SECRET = "SECRET-first-line-must-never-be-shown"


def _secret_file(where: Path) -> Path:
    """A file outside the raw root that even parses as a flights CSV: refusing it must not
    depend on its content."""
    day = where / "flights-day.csv"
    write_flights(where.as_uri(), [DAY])
    (where / "flights" / f"{DAY}.csv").rename(day)
    day.write_text(day.read_text() + f"# {SECRET}\n")
    return day


def _link_file(raw: Path, outside: Path) -> None:
    (raw / "flights").mkdir(parents=True)
    (raw / "flights" / f"{DAY}.csv").symlink_to(_secret_file(outside))


def _link_folder(raw: Path, outside: Path) -> None:
    _secret_file(outside)
    (outside / "day").mkdir()
    (outside / "flights-day.csv").rename(outside / "day" / f"{DAY}.csv")
    raw.mkdir(parents=True)
    (raw / "flights").symlink_to(outside / "day", target_is_directory=True)


def _link_deep(raw: Path, outside: Path) -> None:
    """raw/flights -> raw/inner (inside) whose file links to a link that leads outside."""
    secret = _secret_file(outside)
    (raw / "inner").mkdir(parents=True)
    (raw / "hop.csv").symlink_to(secret)
    (raw / "inner" / f"{DAY}.csv").symlink_to(raw / "hop.csv")
    (raw / "flights").symlink_to(raw / "inner", target_is_directory=True)


def _relative_dots(raw: Path, outside: Path) -> None:
    """A relative link with .. components that climbs out of the root."""
    secret = _secret_file(outside)
    (raw / "flights").mkdir(parents=True)
    (raw / "flights" / f"{DAY}.csv").symlink_to(os.path.relpath(secret, raw / "flights"))


CASES: dict[str, Callable[[Path, Path], None]] = {
    "file link": _link_file,
    "linked folder": _link_folder,
    "link chain at depth two": _link_deep,
    "relative link with ..": _relative_dots,
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_source_that_leads_outside_the_roots_is_refused_unread(
    home: Path, tmp_path: Path, case: str
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    CASES[case](home / "raw", outside)
    cfg = load_pipeline(FLIGHTS_YAML)
    lake = Lake((home / "lake").as_uri())
    with pytest.raises(UnsafeSourceError, match=r"outside the allowed source roots") as e:
        ingest(cfg, lake, DAY)
    assert SECRET not in str(e.value) and "dep_delay" not in str(e.value)
    assert "resolves to" in str(e.value) and str(outside) in str(e.value)
    cat = Catalog(lake, cfg.name)
    lake_dir = home / "lake"
    kept = [p for p in lake_dir.rglob("*") if p.is_file()] if lake_dir.exists() else []
    assert kept == [], f"nothing of a refused file reaches the lake: {kept}"
    assert cat.quarantined() == [] and cat.manifest(DAY) is None


def _glob_cfg(home: Path) -> PipelineConfig:
    import yaml

    d = yaml.safe_load(FLIGHTS_YAML.read_text())
    d["source"]["uri"] = "${AIRFLOW_MLOPS_RAW_ROOT}/flights/{ds}/part-*.csv"
    del d["source"]["format"]
    path = home / "flights_delay.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return load_pipeline(path)


def test_a_glob_refuses_a_link_among_good_parts_and_reads_none_of_them(home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = _secret_file(outside)
    write_flights((home / "raw").as_uri(), [DAY])
    folder = home / "raw" / "flights" / DAY
    folder.mkdir()
    (home / "raw" / "flights" / f"{DAY}.csv").rename(folder / "part-0.csv")
    (folder / "part-1.csv").symlink_to(secret)
    cfg, lake = _glob_cfg(home), Lake((home / "lake").as_uri())
    with pytest.raises(UnsafeSourceError, match=r"\(part-1.csv\): outside the allowed source roots") as e:
        ingest(cfg, lake, DAY)
    assert SECRET not in str(e.value)
    assert not (home / "lake").exists() or not any(p.is_file() for p in (home / "lake").rglob("*"))


def test_links_that_stay_inside_the_roots_are_followed(home: Path, tmp_path: Path) -> None:
    """A raw root that is itself a link (a mounted volume), and a link from one file of the root to
    another, are inside: they ingest."""
    real_raw = tmp_path / "volume"
    write_flights(real_raw.as_uri(), ["2013-01-03"])
    (home / "raw").symlink_to(real_raw, target_is_directory=True)
    (real_raw / "flights" / f"{DAY}.csv").symlink_to(real_raw / "flights" / "2013-01-03.csv")
    cfg, lake = load_pipeline(FLIGHTS_YAML), Lake((home / "lake").as_uri())
    res = ingest(cfg, lake, DAY, interval=None)
    assert res.rows > 500 and Catalog(lake, cfg.name).manifest(DAY) is not None


@pytest.mark.parametrize(
    "path",
    ["lake/raw/../secret/x.csv", "lake/raw/./x/../../y.csv", "lake/raw/a/../../raw-other/x.csv"],
)
def test_object_store_paths_with_dot_segments_are_refused(path: str) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe_file("/lake/secret/x.csv", SECRET.encode())
    with pytest.raises(UnsafeSourceError, match=r"'\.' or '\.\.' segment") as e:
        confine.check(fs, path, ["memory://lake/raw"], f"memory://{path}")
    assert SECRET not in str(e.value)


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/lake/raw/x.csv", True),
        ("/lake/raw-other/x.csv", False),
        ("/lake/x.csv", False),
        ("/lake/raw", True),
    ],
)
def test_object_store_paths_are_compared_by_whole_segments(path: str, ok: bool) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    if ok:
        confine.check(fs, path, ["memory://lake/raw"], path)
    else:
        with pytest.raises(UnsafeSourceError):
            confine.check(fs, path, ["memory://lake/raw"], path)


def test_a_missing_file_outside_the_roots_is_refused_not_reported_missing(tmp_path: Path) -> None:
    """Existence outside the roots is not probed: the answer does not tell what exists there."""
    for name in ("exists.csv", "absent.csv"):
        if name == "exists.csv":
            (tmp_path / name).write_text("a\n1\n")
        with pytest.raises(UnsafeSourceError):
            rawfile.open_raw(
                (tmp_path / name).as_uri(), None, name, None, roots=[(tmp_path / "raw").as_uri()]
            )
