"""The lake's write side: a failed write names its URI and cause, a killed writer's staging files
are removed by the next run, and every file of the lake gets one mode.

The failing writes are real where the machine allows it: a file-size limit (RLIMIT_FSIZE) in a
child process makes the snapshot write fail with EFBIG exactly as a full disk fails with ENOSPC,
and a child process killed in the middle of its write leaves its staging file behind.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.foundation import staging
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.errors import DataContractError, LakeWriteError
from airflow_mlops.core.foundation.lake import Lake
from dev.datasets import write_flights
from tests.conftest import ROOT
from tests.unit.core.conftest import FLIGHTS_YAML

pytestmark = pytest.mark.unit
DAY = "2013-01-02"


def _child(code: str, home: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
        "AIRFLOW_MLOPS_HOME": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for var in ("AIRFLOW_MLOPS_LAKE_ROOT", "AIRFLOW_MLOPS_RAW_ROOT", "AIRFLOW_MLOPS_SOURCE_ROOTS"):
        env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, **kw
    )  # type: ignore[call-overload]


INGEST = f"""
import resource, signal, sys
from pathlib import Path
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.errors import LakeWriteError
from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.foundation.lake import Lake
home = Path(sys.argv[0] if False else "{{home}}")
cfg = load_pipeline("{FLIGHTS_YAML}")
lake = Lake((home / "lake").as_uri())
{{setup}}
try:
    ingest(cfg, lake, "{DAY}")
except LakeWriteError as e:
    print("LAKEWRITEERROR", e)
    sys.exit(3)
"""


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize("limit", [4096, 20_000])
def test_a_full_disk_during_the_snapshot_write_names_the_partition_and_the_cause(
    home: Path, limit: int
) -> None:
    """RLIMIT_FSIZE fails the write with EFBIG at ``limit`` bytes, as a full disk does with ENOSPC."""
    write_flights((home / "raw").as_uri(), [DAY])
    setup = (
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "(home / 'lake').mkdir(parents=True, exist_ok=True)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))"
    )
    out = _child(INGEST.format(home=home, setup=setup), home)
    assert out.returncode == 3, out.stderr[-3000:]
    cat = Catalog(Lake((home / "lake").as_uri()), "flights_delay")
    assert f"{cat.partition(DAY)}: write to the lake failed" in out.stdout
    assert "File too large" in out.stdout or "errno 27" in out.stdout.lower()
    # Nothing half-written: no partition, no ledger entry, no staging leftover.
    assert cat.manifest(DAY) is None and cat.batches() == []
    assert _files(home / "lake") == []


def test_a_full_disk_while_quarantining_a_refused_file_names_the_quarantine_file(home: Path) -> None:
    """The refused file's copy into the quarantine fails (RLIMIT_FSIZE): a LakeWriteError naming
    the quarantine file, not a bare OSError; no staging file left."""
    write_flights((home / "raw").as_uri(), [DAY])
    raw = home / "raw" / "flights" / f"{DAY}.csv"
    lines = raw.read_text().splitlines()
    cells = lines[1].split(",")
    assert lines[0].split(",")[15] == "distance"
    lines[1] = ",".join([*cells[:15], "far", *cells[16:]])  # the first row's distance
    raw.write_text("\n".join(lines) + "\n")
    assert raw.stat().st_size > 8192
    setup = (
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "(home / 'lake').mkdir(parents=True, exist_ok=True)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))"
    )
    out = _child(INGEST.format(home=home, setup=setup), home)
    assert out.returncode == 3, out.stderr[-3000:]
    cat = Catalog(Lake((home / "lake").as_uri()), "flights_delay")
    assert f"{cat.quarantine_dir(DAY)}/{DAY}.csv: write to the lake failed" in out.stdout
    assert "File too large" in out.stdout
    assert [p for p in _files(home / "lake") if ".staging" in p.parts] == []


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ("write_table", errno.ENOSPC),
        ("close", errno.EIO),
        ("new_file", errno.EROFS),
        ("replace", errno.ENOSPC),
    ],
)
def test_every_failing_step_of_the_snapshot_write_is_a_lake_write_error(
    home: Path, monkeypatch: pytest.MonkeyPatch, where: str, code: int
) -> None:
    import pyarrow.parquet as pq

    write_flights((home / "raw").as_uri(), [DAY])
    cfg, lake = load_pipeline(FLIGHTS_YAML), Lake((home / "lake").as_uri())
    err = OSError(code, os.strerror(code))

    def fail(*a: object, **k: object) -> None:
        raise err

    target = {"write_table": pq.ParquetWriter, "close": pq.ParquetWriter, "new_file": staging, "replace": os}
    monkeypatch.setattr(target[where], where, fail)
    with pytest.raises(LakeWriteError) as e:
        ingest(cfg, lake, DAY)
    cat = Catalog(lake, cfg.name)
    assert str(e.value).startswith(cat.partition(DAY)) and os.strerror(code) in str(e.value)
    assert e.value.__cause__ is err
    monkeypatch.undo()
    assert cat.manifest(DAY) is None
    assert [p for p in _files(home / "lake") if ".staging" in p.parts] == []


KILLED = """
import os, signal
from airflow_mlops.core.foundation import staging
real = staging.ParquetSink.write_table
def write_then_die(self, table):
    real(self, table)
    os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of the snapshot write
staging.ParquetSink.write_table = write_then_die
"""


def test_a_killed_ingest_leaves_staging_that_the_next_run_removes(home: Path) -> None:
    write_flights((home / "raw").as_uri(), [DAY])
    out = _child(INGEST.format(home=home, setup=KILLED), home)
    assert out.returncode == -9, out.stderr[-3000:]
    left = list((home / "lake" / ".staging").iterdir())
    assert len(left) == 1 and left[0].name.startswith("tmp-") and left[0].stat().st_size > 0
    cfg, lake = load_pipeline(FLIGHTS_YAML), Lake((home / "lake").as_uri())
    res = ingest(cfg, lake, DAY)
    assert list((home / "lake" / ".staging").iterdir()) == []
    assert Catalog(lake, cfg.name).manifest(DAY)["content_hash"] == res.content_hash


def test_a_live_writers_staging_file_is_kept(home: Path) -> None:
    lake = Lake((home / "lake").as_uri())
    code = (
        "import sys\nfrom airflow_mlops.core.foundation import staging\n"
        f"print(staging.new_file({lake.staging_dir!r}), flush=True)\nsys.stdin.read()"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}"}
    child = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        theirs = Path(child.stdout.readline().strip())  # the event: the child made its file
        mine = lake.stage()
        assert theirs.exists() and Path(mine).exists()
        assert staging.sweep(lake.staging_dir) == []
    finally:
        child.communicate("", timeout=30)
    assert child.returncode == 0
    assert staging.sweep(lake.staging_dir) == [theirs.name] and Path(mine).exists()


@pytest.mark.parametrize(
    ("name", "age_hours", "removed"),
    [
        ("tmp-a1b2c3d4", 25, True),  # a name from before owners were recorded, a day old
        ("tmp-a1b2c3d4", 1, False),  # the same, an hour old: maybe a live writer of an old version
        ("tmp-0123456789ab-4242-00ff00ff00ff00ff", 25, True),  # another machine's, a day old
        ("tmp-0123456789ab-4242-00ff00ff00ff00ff", 1, False),  # another machine's, recent
        ("other-file", 100, False),  # not a staging name: not ours to remove
    ],
)
def test_staging_files_whose_owner_cannot_be_checked_go_by_age(
    tmp_path: Path, name: str, age_hours: float, removed: bool
) -> None:
    f = tmp_path / name
    f.write_bytes(b"x")
    then = time.time() - age_hours * 3600
    os.utime(f, (then, then))
    assert staging.sweep(str(tmp_path)) == ([name] if removed else [])
    assert f.exists() is not removed


def test_a_dead_process_of_this_machine_is_known_dead_at_once(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(child.stdout)
    name = f"tmp-{staging.machine_tag()}-{dead}-0123456789abcdef"
    (tmp_path / name).write_bytes(b"half")
    assert staging.owner_alive(name) is False
    assert staging.sweep(str(tmp_path)) == [name]


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_every_file_of_the_lake_gets_one_mode(home: Path, umask: int) -> None:
    """Snapshots, manifests, the ledger, lock leases, staged files and the quarantine: all
    0o666 less the umask (snapshots were 0o600 whatever the umask)."""
    from airflow_mlops.core.foundation.lock import LakeLock

    write_flights((home / "raw").as_uri(), [DAY, "2013-01-03"])
    bad = home / "raw" / "flights" / "2013-01-03.csv"
    bad.write_text(bad.read_text().replace(",EWR,", ",EWR,,", 1))  # a ragged row: quarantined
    cfg, lake = load_pipeline(FLIGHTS_YAML), Lake((home / "lake").as_uri())
    old = os.umask(umask)
    try:
        ingest(cfg, lake, DAY)
        with pytest.raises(DataContractError):
            ingest(cfg, lake, "2013-01-03")
        cat = Catalog(lake, cfg.name)
        with LakeLock(lake, cat.lock_dir("register"), "test"):
            pass
        with lake.staged(cat.predictions_uri(DAY)) as tmp, open(tmp, "wb") as f:
            f.write(b"PAR1")
    finally:
        os.umask(old)
    files = _files(home / "lake")
    kinds = {p.suffix for p in files}
    assert {".parquet", ".json", ".csv", ".released"} <= kinds, kinds
    assert any("commits" in p.parts for p in files) and any("quarantine" in p.parts for p in files)
    modes = {str(p.relative_to(home)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, json.dumps(modes, indent=1)
