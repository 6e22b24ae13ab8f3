"""The restore journal: every undo is on disk before its change is sent, and crossed out once
undone, so a run that dies (SIGKILL, OOM, a runner that vanishes) leaves a list of what it
changed. The next run against the same target (base URL and service) replays it first.

One file per process, `<host>-<pid>-<run>-<random>.jsonl`, in one folder per target; each file is
held under an exclusive lock for its process's life. The operating system drops the lock when
the process dies, however it dies: a file whose lock can be taken belongs to a dead run.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from filelock import FileLock, Timeout

if TYPE_CHECKING:
    from lucs_harness.config import LucsConfig

SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Lookup:
    """A read made first, for an undo whose target gets its id only from the change itself: a
    callback is cancelled by its GUID, which LUCS answers, so the undo finds it by the ExternalTaskId
    sent with it. The answer's `field` becomes the undo's parameter `param`."""

    operation: str
    params: dict[str, str]
    field: str
    param: str


@dataclass(frozen=True)
class Undo:
    """One registered change, as the API call that reverses it: plain data, so a later run (or
    `lucs-acceptance restore`) can make the call when this process no longer can."""

    description: str
    operation: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    gone: tuple[int, ...] = ()  # statuses that mean nothing is left to undo (a task closed meanwhile)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    lookup: Lookup | None = None  # a read that names what the call acts on; its `gone` statuses count too

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Undo:
        lookup = record.get("lookup")
        return cls(**(record | {"gone": tuple(record.get("gone", ())), "lookup": Lookup(**lookup) if lookup else None}))


def target_digest(base_url: str, service_id: str) -> str:
    """A short name for one target (base URL and service), shared by leases and journals."""
    return hashlib.sha256(f"{base_url}|{service_id}".encode()).hexdigest()[:16]


def journal_folder(base_url: str, service_id: str, configured: str | None = None) -> Path:
    """The target's journal folder: under the configured folder, else the user's cache folder
    (which outlives temporary folders and reboots; point it at a CI cache to outlive a container)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lucs-harness" / "journal"
    root = Path(configured) if configured else cache
    return root / target_digest(base_url, service_id)


def target_folder(config: LucsConfig) -> Path:
    """The journal folder of the configured real target."""
    assert config.base_url is not None
    return journal_folder(config.base_url, config.service_id, config.journal_dir)


class Journal:
    """This process's journal for one target, held under its lock until `close`; `run` names the
    process's run in the file's name (`coordination.base.RUN_TOKEN`)."""

    def __init__(self, folder: Path, target: str, run: str = "run") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        run_id = f"{socket.gethostname()}-{os.getpid()}-{run}-{uuid.uuid4().hex[:4]}"
        self.path = folder / (run_id + SUFFIX)
        self._lock = FileLock(str(self.path) + ".lock")
        self._lock.acquire(timeout=0)
        self._mutex = threading.Lock()
        self._open: set[str] = set()
        self._file: TextIO | None = None
        self.target = target

    def add(self, undo: Undo) -> None:
        """Write (and flush to disk) an undo before its change is sent."""
        self._write({"add": asdict(undo), "target": self.target})
        self._open.add(undo.id)

    def cross_out(self, undo: Undo) -> None:
        """The change is undone, or turned out not to need undoing."""
        if undo.id in self._open:
            self._write({"done": undo.id})
            self._open.discard(undo.id)

    def _write(self, entry: dict[str, Any]) -> None:
        with self._mutex:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Release the journal: removed when everything was undone, kept for the next run otherwise."""
        with self._mutex:
            if self._file is not None:
                self._file.close()
                self._file = None
            if not self._open:
                with suppress(FileNotFoundError):
                    self.path.unlink()
            self._lock.release()
            if not self._open:
                with suppress(FileNotFoundError):
                    Path(self._lock.lock_file).unlink()


@dataclass
class Leftover:
    """A dead run's journal, claimed (locked) by this process: the undos it never crossed out."""

    path: Path
    undos: list[Undo]
    _lock: FileLock
    unreadable: int = 0  # entries of another harness version: the file is kept for it

    @property
    def name(self) -> str:
        return self.path.name

    def cross_out(self, undo: Undo) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps({"done": undo.id}) + "\n")
            file.flush()
            os.fsync(file.fileno())

    def release(self, *, finished: bool) -> None:
        """Delete the journal when nothing is left in it, else keep it for the next run."""
        if finished:
            self.path.unlink(missing_ok=True)
        self._lock.release()
        if finished:
            Path(self._lock.lock_file).unlink(missing_ok=True)


def read_undos(path: Path) -> list[Undo]:
    """The undos of a journal file that were never crossed out, oldest first. A line cut short by
    a kill (the last one) is ignored: its change was not sent before the entry was complete."""
    return _read(path)[0]


def _read(path: Path) -> tuple[list[Undo], int]:
    """The open undos, and how many complete entries could not be read (another harness version)."""
    added: dict[str, Undo] = {}
    unreadable = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("add"), dict):
            try:
                undo = Undo.from_record(entry["add"])
            except (TypeError, ValueError):
                unreadable += 1
                continue
            added[undo.id] = undo
        elif isinstance(entry, dict) and isinstance(entry.get("done"), str):
            added.pop(entry["done"], None)
    return list(added.values()), unreadable


def leftovers(folder: Path) -> Iterator[Leftover]:
    """Journals in `folder` whose run is gone (their lock is free), each claimed while in use."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*" + SUFFIX)):
        lock = FileLock(str(path) + ".lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue  # a live run (another worker, another CI job on this machine) holds it
        if not path.exists():  # removed by its run between the listing and the lock
            lock.release()
            continue
        undos, unreadable = _read(path)
        yield Leftover(path, undos, lock, unreadable)
