"""A lock in the lake, for what must happen one at a time across processes, workers and deployments.

The lake is the one store every writer reaches. A lock is a folder of numbered leases: taking it
creates the next number exclusively (``Lake.create_exclusive``); a dead holder's lease expires after
``ttl`` (at once on its own machine). Nothing is deleted to take it, so the number is a fencing token.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from airflow_mlops.core.foundation.errors import LockTimeoutError
from airflow_mlops.core.foundation.lake import Lake

KEEP = 20  # lease files kept for inspection; older ones are removed by the next holder


def machine() -> str | None:
    """This kernel's boot and PID namespace: process ids mean the same within it (None off Linux)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None


def holder_is_dead(lease: dict[str, Any]) -> bool:
    """Whether the lease's holder is known to be gone: a process of this machine that no longer
    exists. A holder elsewhere, or one that cannot be checked, counts as alive until ``expires``."""
    pid, here = lease.get("pid"), machine()
    if here is None or lease.get("machine") != here or not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. another user's process: it exists
        return False
    return False


class LakeLock:
    """``with LakeLock(lake, folder, owner):`` holds the lock for the block."""

    def __init__(
        self,
        lake: Lake,
        folder: str,
        owner: str,
        ttl: float = 900,
        timeout: float | None = None,
        poll: float = 0.5,
    ) -> None:
        self.lake, self.folder, self.owner = lake, folder, owner
        # By default a waiter outlasts the lease of a holder that died on another machine.
        self.ttl, self.timeout, self.poll = ttl, ttl + 60 if timeout is None else timeout, poll
        self.number: int | None = None

    def _leases(self) -> tuple[int, set[str]]:
        names = set(self.lake.listdir(self.folder))
        numbers = [int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit()]
        return max(numbers, default=0), names

    def _lease(self, number: int) -> dict[str, Any]:
        return dict(self.lake.read_json_or_none(f"{self.folder}/{number}.json") or {})

    def acquire(self) -> int:
        deadline = time.time() + self.timeout
        while True:
            top, names = self._leases()
            lease = self._lease(top) if top else {}
            free = (
                top == 0
                or f"{top}.released" in names
                or float(lease.get("expires", 0)) < time.time()
                or holder_is_dead(lease)
            )
            body = {
                "owner": self.owner,
                "pid": os.getpid(),
                "machine": machine(),
                "acquired_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "expires": time.time() + self.ttl,
            }
            if free and self.lake.create_exclusive(
                f"{self.folder}/{top + 1}.json", json.dumps(body).encode()
            ):
                self.number = top + 1
                for old in names:
                    stem = old.split(".")[0]
                    if stem.isdigit() and int(stem) < self.number - KEEP:
                        self.lake.remove(f"{self.folder}/{old}")
                return self.number
            if time.time() > deadline:
                raise LockTimeoutError(
                    f"{self.folder}: {self.owner} waited {self.timeout:.0f} s; held by "
                    f"{lease.get('owner')!r} since {lease.get('acquired_at')}"
                )
            time.sleep(self.poll)

    def release(self) -> None:
        if self.number is not None:
            self.lake.write_text(f"{self.folder}/{self.number}.released", self.owner)
            self.number = None

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
