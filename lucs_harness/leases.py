"""Agent leases: against a shared LUCS, two pytest-xdist workers (or two runs) never drive the
same agent at once. Each lease is an exclusive file lock held for the worker's whole session;
every acquire and release is appended to a log so a test can prove there was no overlap."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from lucs_harness.journal import target_digest


class PoolExhausted(RuntimeError):
    """Every agent of the pool is leased by another worker or run."""


def lease_folder(base_url: str, service_id: str, configured: str | None = None) -> Path:
    """The shared folder of one target's leases: configured, or one per base URL and service."""
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / "lucs-harness-leases" / target_digest(base_url, service_id)


@dataclass
class AgentLease:
    """A lease on one agent of `pool`, taken by `holder` (e.g. the xdist worker id)."""

    folder: Path
    pool: list[str]
    holder: str
    agent: str | None = None
    _lock: FileLock | None = field(default=None, repr=False)

    def acquire(self) -> str:
        """Take the first free agent without waiting; `PoolExhausted` names the pool when none is free."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for agent in self.pool:
            lock = FileLock(self.folder / (hashlib.sha256(agent.encode()).hexdigest()[:16] + ".lock"))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            self.agent, self._lock = agent, lock
            self._log("acquire")
            return agent
        raise PoolExhausted(
            f"all {len(self.pool)} agent(s) of the pool are in use by other workers or runs: {', '.join(self.pool)}; "
            "add agents (--lucs-agents) or run fewer workers"
        )

    def release(self) -> None:
        if self._lock is not None:
            self._log("release")
            self._lock.release()
            self._lock = None

    def _log(self, event: str) -> None:
        line = {"event": event, "agent": self.agent, "holder": self.holder, "pid": os.getpid(), "at": time.time()}
        with FileLock(self.folder / "log.lock"), (self.folder / "leases.log").open("a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")


def is_leased(folder: Path, agent: str) -> bool:
    """True while a live worker or run holds the agent's lease (its lock cannot be taken now); the
    start-of-run check leaves such an agent to its run. A lock taken here is released at once."""
    path = folder / (hashlib.sha256(agent.encode()).hexdigest()[:16] + ".lock")
    if not path.exists():
        return False
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False
