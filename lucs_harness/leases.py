"""Agent leases on one machine: an exclusive file lock per agent, held for a worker's whole
session, so two pytest-xdist workers (or two runs on this machine) never drive the same agent at
once. Every acquire and release is appended to a log so a test can prove there was no overlap.
Runs on several machines share leases through the PostgreSQL store instead
(`lucs_harness.coordination.postgres`)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from lucs_harness.journal import target_digest

LOG = "leases.log"


def lease_folder(base_url: str, service_id: str, configured: str | None = None) -> Path:
    """The shared folder of one target's leases: configured, or one per base URL and service."""
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / "lucs-harness-leases" / target_digest(base_url, service_id)


def _lock(folder: Path, agent: str) -> FileLock:
    return FileLock(folder / (hashlib.sha256(agent.encode()).hexdigest()[:16] + ".lock"))


@dataclass
class FileLease:
    """A lease on one agent, taken by `holder` (e.g. the xdist worker id), until `release`."""

    folder: Path
    agent: str
    holder: str
    _lock: FileLock

    @classmethod
    def take(cls, folder: Path, agent: str, holder: str) -> FileLease | None:
        """The agent's lease, or None at once when another process holds it."""
        folder.mkdir(parents=True, exist_ok=True)
        lock = _lock(folder, agent)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return None
        lease = cls(folder, agent, holder, lock)
        lease._log("acquire")
        return lease

    def release(self) -> None:
        if self._lock.is_locked:
            self._log("release")
            self._lock.release()

    def _log(self, event: str) -> None:
        """Evidence for tests, not the lease: on a full disk the lease holds (or goes) without it."""
        line = {"event": event, "agent": self.agent, "holder": self.holder, "pid": os.getpid(), "at": time.time()}
        log = self.folder / LOG
        with suppress(OSError), FileLock(self.folder / "log.lock"), log.open("a", encoding="utf-8") as file:
            file.write(json.dumps(line) + "\n")


def is_leased(folder: Path, agent: str) -> bool:
    """True when another process holds the agent's lease right now."""
    if not folder.is_dir():
        return False
    lock = _lock(folder, agent)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False
