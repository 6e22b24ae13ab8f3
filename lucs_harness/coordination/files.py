"""The default coordination store: files on this machine. Leases are file locks in a temporary
folder, the journal one file per process in the user's cache; the operating system drops a dead
process's locks. Runs on other machines see none of it: for a fleet, use the PostgreSQL store."""

from __future__ import annotations

from collections.abc import Iterator

from filelock import FileLock, Timeout

from lucs_harness.config import LucsConfig
from lucs_harness.coordination.base import RUN_TOKEN
from lucs_harness.journal import SUFFIX, Journal, Leftover, leftovers, target_folder
from lucs_harness.leases import FileLease, is_leased, lease_folder


class FileCoordination:
    """Leases and journals of one target as files (`--lucs-lease-dir`, `--lucs-journal-dir`)."""

    def __init__(self, config: LucsConfig, token: str = RUN_TOKEN) -> None:
        assert config.base_url is not None
        self.token = token
        self.leases = lease_folder(config.base_url, config.service_id, config.lease_dir)
        self.journals = target_folder(config)
        self.target = config.redactor().url(config.base_url)
        self.where = f"files on this machine, {self.leases}"

    def try_lease(self, agent: str, holder: str) -> FileLease | None:
        return FileLease.take(self.leases, agent, holder)

    def is_leased(self, agent: str) -> bool:
        return is_leased(self.leases, agent)

    def journal(self) -> Journal:
        return Journal(self.journals, self.target, self.token)

    def leftovers(self) -> Iterator[Leftover]:
        return leftovers(self.journals)

    def run_alive(self, token: str) -> bool | None:
        """A journal file of that run on this machine tells, by its lock; else nobody can."""
        if token == self.token:
            return True
        for path in self.journals.glob(f"*-{token}-*{SUFFIX}") if self.journals.is_dir() else ():
            lock = FileLock(str(path) + ".lock")
            try:
                lock.acquire(timeout=0)
            except Timeout:
                return True
            lock.release()
            return False
        return None

    def lost(self) -> str | None:
        return None

    def close(self) -> None:
        """Nothing held between calls."""
