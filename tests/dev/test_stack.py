"""The dev stack stops whole process groups, even when a group's leader died first."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from dev.stack import Stack, group_alive

pytestmark = pytest.mark.unit
# A leader that starts two children which outlive it (as api-server workers would).
SPAWNER = "import subprocess, time, sys; [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']) for _ in range(2)]; time.sleep(120)"


def test_stop_reaps_children_of_a_dead_leader_and_closes_logs(tmp_path: Path) -> None:
    stack = Stack(tmp_path, dict(os.environ))
    stack.start("spawner", [sys.executable, "-c", SPAWNER])
    stack.start("plain", [sys.executable, "-c", "import time; time.sleep(120)"])
    leader = stack.procs["spawner"].pid
    deadline = time.time() + 20
    while time.time() < deadline and _members(leader) < 3:
        time.sleep(0.1)
    assert _members(leader) == 3, "the leader and its two children run"
    os.kill(leader, signal.SIGKILL)
    stack.procs["spawner"].wait(10)
    assert group_alive(leader), "the children live on after their leader died"
    logs = list(stack.logs.values())

    stack.stop(grace=5)

    assert not group_alive(leader)
    assert all(f.closed for f in logs)
    assert stack.procs == {}


def _members(pgid: int) -> int:
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        count += int(fields[2]) == pgid and fields[0] != "Z"
    return count


def test_kill_takes_the_whole_group_and_restart_runs_the_same_command_again(tmp_path: Path) -> None:
    stack = Stack(tmp_path, dict(os.environ))
    marker = tmp_path / "started"
    env = {**os.environ, "MARK": str(marker)}
    script = (
        "import os, pathlib; p = pathlib.Path(os.environ['MARK']); "
        "p.write_text(p.read_text() + 'x' if p.exists() else 'x'); " + SPAWNER
    )
    stack.start("spawner", [sys.executable, "-c", script], env=env)
    leader = stack.procs["spawner"].pid
    deadline = time.time() + 20
    while time.time() < deadline and _members(leader) < 3:
        time.sleep(0.1)
    assert _members(leader) == 3
    log = stack.logs["spawner"]

    stack.kill("spawner")

    assert not group_alive(leader) and log.closed and "spawner" not in stack.procs
    stack.restart("spawner")
    try:
        again = stack.procs["spawner"].pid
        assert again != leader
        deadline = time.time() + 20
        while time.time() < deadline and marker.read_text() != "xx":
            time.sleep(0.1)
        assert marker.read_text() == "xx", "the restarted process ran with the first start's environment"
    finally:
        stack.stop(grace=5)
    assert not group_alive(again)
