"""The champion lock's leases: a dead holder on this machine is taken over at once; a live one, or
one elsewhere, only when its lease expires; and by default a waiter outlasts a lease."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_mlops.core.foundation.errors import LockTimeoutError
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.lock import LakeLock, machine

pytestmark = pytest.mark.unit


def _lease(lake: Lake, folder: str, **holder: object) -> None:
    """Lease 1, held (never released) by ``holder``, valid for 15 more minutes."""
    body = {"owner": "someone", "acquired_at": "now", "expires": time.time() + 900, **holder}
    assert lake.create_exclusive(f"{folder}/1.json", json.dumps(body).encode())


def test_the_lease_of_a_dead_process_of_this_machine_is_taken_over_at_once(tmp_path: Path) -> None:
    lake, folder = Lake(tmp_path.as_uri()), "locks/champion"
    assert machine() is not None, "the takeover needs /proc (Linux)"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    _lease(lake, f"{lake.root}/{folder}", pid=int(dead.stdout), machine=machine())
    started = time.monotonic()
    with LakeLock(lake, f"{lake.root}/{folder}", "retry", timeout=5) as lock:
        assert lock.number == 2
        mine = json.loads(lake.read_bytes(f"{lake.root}/{folder}/2.json"))
    assert time.monotonic() - started < 5
    assert mine["owner"] == "retry" and mine["machine"] == machine() and isinstance(mine["pid"], int)


@pytest.mark.parametrize("where", ["alive here", "on another machine", "no holder recorded"])
def test_a_live_or_unknown_holder_keeps_the_lock_until_the_lease_expires(tmp_path: Path, where: str) -> None:
    lake = Lake(tmp_path.as_uri())
    folder = f"{lake.root}/locks/champion"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        try:
            holder = {
                "alive here": {"pid": alive.pid, "machine": machine()},
                "on another machine": {"pid": 999_999_999, "machine": "other-boot/pid:[1]"},
                "no holder recorded": {},
            }[where]
            _lease(lake, folder, **holder)
            with pytest.raises(LockTimeoutError, match=r"held by 'someone'"):
                LakeLock(lake, folder, "waiter", timeout=1, poll=0.2).acquire()
        finally:
            alive.kill()


def test_by_default_a_waiter_outlasts_the_lease_it_waits_for(tmp_path: Path) -> None:
    lock = LakeLock(Lake(tmp_path.as_uri()), "x", "me")
    assert lock.timeout > lock.ttl
    assert LakeLock(Lake(tmp_path.as_uri()), "x", "me", ttl=10, timeout=3).timeout == 3
