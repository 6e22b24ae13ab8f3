"""The default coordination store: files on this machine. Leases are file locks in a temporary
folder, the journal one file per process in the user's cache; the operating system drops a dead
process's locks. Runs on other machines see none of it: for a fleet, use the PostgreSQL store.

A journal file is `<host>-<pid>-<run>-<random>.jsonl`, one sealed entry a line (`journal.Seal`),
held under an exclusive lock for its process's life: a file whose lock can be taken belongs to a
dead run. The folder may come from a CI cache others wrote to, so nothing in it is trusted: only a
regular file of at most `MAX_BYTES` is read (never a link, a FIFO or a device), no lock file or
journal is opened through a symbolic link, and what does not verify is moved aside, never replayed
and never deleted.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import stat
import threading
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from lucs_harness.config import LucsConfig
from lucs_harness.coordination.base import RUN_TOKEN, store_seal
from lucs_harness.errors import Rejected, Unreadable
from lucs_harness.journal import MAX_BYTES, REJECTED, SUFFIX, Seal, Undo, printable, target_folder
from lucs_harness.leases import FileLease, is_leased, lease_folder

_NO_FOLLOW = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
COMPACT_AT = MAX_BYTES // 4  # bytes past which a live journal is rewritten with its open undos alone


class Claim:
    """An exclusive lock on `<journal>.lock`, taken without waiting and never through a symbolic
    link (a planted link must not make the harness create or truncate a file elsewhere). The
    operating system drops it when its process dies, however it dies."""

    def __init__(self, journal: Path) -> None:
        self.path = Path(str(journal) + ".lock")
        self._fd: int | None = None

    def take(self) -> bool:
        """True once held; False while a live process holds it. `OSError` for a lock file that
        cannot be opened as a regular file of its own."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NO_FOLLOW, 0o600)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"{self.path.name} is not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self, *, remove: bool) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if remove:
            self.path.unlink(missing_ok=True)


def _append(path: Path, lines: list[bytes]) -> None:
    """Append whole lines to a regular file (made when missing), flushed to disk; never through a link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NO_FOLLOW, 0o600)
    with os.fdopen(fd, "ab") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        file.write(b"".join(line + b"\n" for line in lines))
        file.flush()
        os.fsync(file.fileno())


def _line(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, separators=(",", ":")).encode()


class Journal:
    """This process's journal for one target, held under its lock until `close`; `run` names the
    process's run in the file's name (`coordination.base.RUN_TOKEN`). Past `COMPACT_AT` bytes it is
    rewritten with its open undos alone, so a long run's journal stays far below `MAX_BYTES`."""

    def __init__(self, folder: Path, seal: Seal, run: str = "run") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.name = f"{socket.gethostname()}-{os.getpid()}-{run}-{uuid.uuid4().hex[:4]}"
        self.path = folder / (self.name + SUFFIX)
        self._claim = Claim(self.path)
        if not self._claim.take():
            raise OSError(f"{self.path}: locked by another process")
        self._seal = seal
        self._mutex = threading.Lock()
        self._open: dict[str, bytes] = {}  # the line of each undo not crossed out yet
        self._file: BinaryIO | None = None
        self._size = 0

    def add(self, undo: Undo) -> None:
        """Write (and flush to disk) an undo before its change is sent; `Rejected` (nothing written,
        so its change must not be sent) for one a later run would refuse."""
        line = _line(self._seal.add(self.name, undo))
        with self._mutex:
            self._write(line)
            self._open[undo.id] = line

    def cross_out(self, undo: Undo) -> None:
        """The change is undone, or turned out not to need undoing."""
        with self._mutex:
            if self._open.pop(undo.id, None) is not None:
                self._write(_line(self._seal.done(self.name, undo.id)))
                if self._size > COMPACT_AT:
                    self._compact()

    def _write(self, line: bytes) -> None:
        if self._file is None:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NO_FOLLOW, 0o600)
            self._file = os.fdopen(fd, "ab")
        self._file.write(line + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._size += len(line) + 1

    def _compact(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        _rewrite(self.path, list(self._open.values()))
        self._size = sum(len(line) + 1 for line in self._open.values())

    def close(self) -> None:
        """Release the journal: removed when everything was undone, kept for the next run otherwise."""
        with self._mutex:
            if self._file is not None:
                self._file.close()
                self._file = None
            if not self._open:
                self.path.unlink(missing_ok=True)
            self._claim.release(remove=not self._open)


@dataclass
class Reading:
    """A journal file read: its open undos (oldest first) and the line of each, its bad lines with
    why, and a last line a kill cut short (b"" when there is none)."""

    undos: list[Undo] = field(default_factory=list)
    lines: dict[str, bytes] = field(default_factory=dict)
    rejected: list[tuple[bytes, str]] = field(default_factory=list)
    cut: bytes = b""


def read_journal(path: Path, seal: Seal) -> Reading:
    """The journal file `path` as `seal` verifies it. `Unreadable` for what is no regular file or
    is larger than `MAX_BYTES`: it is never opened, or opened without following a link or waiting
    for a writer and checked before a byte is read."""
    return parse(_bounded(path), seal, path.name.removesuffix(SUFFIX))


def _bounded(path: Path) -> bytes:
    _regular(os.lstat(path))
    with os.fdopen(os.open(path, os.O_RDONLY | _NO_FOLLOW), "rb") as file:
        _regular(os.fstat(file.fileno()))
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Unreadable(f"is larger than {MAX_BYTES // 1024} KiB: not read")
    return data


def _regular(info: os.stat_result) -> None:
    kinds = {stat.S_ISLNK: "a symbolic link", stat.S_ISFIFO: "a FIFO", stat.S_ISDIR: "a folder"}
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in kinds.items() if test(info.st_mode)), "a device or socket")
        raise Unreadable(f"is {kind}, not a regular file: not read")
    if info.st_size > MAX_BYTES:
        raise Unreadable(f"is larger than {MAX_BYTES // 1024} KiB: not read")


def parse(data: bytes, seal: Seal, journal: str) -> Reading:
    """The entries of a journal's bytes. A line without its newline at the end was cut short by a
    kill: its change was never sent (an entry is on disk before its change goes out)."""
    *lines, cut = data.split(b"\n")
    reading = Reading(cut=cut)
    added: dict[str, Undo] = {}
    crossed: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            opened = seal.open(journal, _json(line))
        except Rejected as why:
            reading.rejected.append((line, f"line {number}: {why}"))
            continue
        if isinstance(opened, str):
            crossed.add(opened)
        elif opened.id not in added:
            added[opened.id] = opened
            reading.lines[opened.id] = line
    reading.undos = [undo for undo_id, undo in added.items() if undo_id not in crossed]
    reading.lines = {undo.id: reading.lines[undo.id] for undo in reading.undos}
    return reading


def _json(line: bytes) -> Any:
    try:
        return json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise Rejected("not UTF-8") from None
    except (ValueError, RecursionError):
        raise Rejected("not JSON") from None


@dataclass
class FileLeftover:
    """A dead run's journal, claimed (locked) by this process: the undos it never crossed out (and
    their lines), and what was wrong in it (each bad line kept aside in `<name>.rejected`).
    `keep`: the file stays as it is whatever happens (what is wrong in it could not be kept aside)."""

    path: Path
    undos: list[Undo]
    seal: Seal
    claim: Claim | None = None
    lines: dict[str, bytes] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keep: bool = False
    crossed: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return printable(self.path.name, 80)

    def cross_out(self, undo: Undo) -> None:
        _append(self.path, [_line(self.seal.done(self.path.name.removesuffix(SUFFIX), undo.id))])
        self.crossed.add(undo.id)

    def release(self, *, finished: bool) -> None:
        """Delete the journal when nothing is left in it, else keep what is left for the next run
        (rewritten with the open undos alone: a journal replayed bit by bit does not grow)."""
        gone = finished and not self.keep
        if gone:
            self.path.unlink(missing_ok=True)
        elif not self.keep and self.crossed:
            with suppress(OSError):  # its done marks are in it: it is right as it is, only longer
                _rewrite(self.path, [self.lines[u.id] for u in self.undos if u.id not in self.crossed])
        if self.claim is not None:
            self.claim.release(remove=gone)


def leftovers(folder: Path, seal: Seal) -> Iterator[FileLeftover]:
    """Journals in `folder` whose run is gone (their lock is free), each claimed while in use."""
    if folder.is_symlink():
        yield FileLeftover(folder, [], seal, rejected=["the journal folder is a symbolic link: not read"], keep=True)
        return
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*" + SUFFIX)):
        leftover = claim(path, seal)
        if leftover is not None:
            yield leftover


def claim(path: Path, seal: Seal) -> FileLeftover | None:
    """The journal `path` claimed and read, its bad lines kept aside; None while a live run holds it."""
    lock = Claim(path)
    cleared = _clear_lock(lock)
    try:
        if not lock.take():
            return None  # a live run (another worker, another CI job on this machine) holds it
    except OSError as error:
        why = f"its lock cannot be taken ({_why(error)}): not read"
        return FileLeftover(path, [], seal, rejected=[*cleared, why], keep=True)
    if not os.path.lexists(path):  # removed by its run between the listing and the lock
        lock.release(remove=False)
        return None
    try:
        leftover = _read_claimed(path, seal, lock)
    except BaseException:
        lock.release(remove=False)
        raise
    leftover.rejected[:0] = cleared
    return leftover


def _clear_lock(lock: Claim) -> list[str]:
    """A lock "file" that is no regular file (a planted link, a FIFO) moved out of the way, and why:
    the harness never makes one, and taking it would follow or block."""
    try:
        _regular(os.lstat(lock.path))
    except FileNotFoundError:
        return []
    except Unreadable as why:
        try:
            aside = _rename_aside(lock.path)
        except OSError:
            return []  # taking it fails, and says so
        return [f"its lock file {why}; moved to {aside}"]
    return []


def _read_claimed(path: Path, seal: Seal, lock: Claim) -> FileLeftover:
    try:
        reading = read_journal(path, seal)
    except Unreadable as why:
        lock.release(remove=True)
        return _moved_aside(path, seal, str(why))
    except OSError as error:
        lock.release(remove=False)
        return FileLeftover(path, [], seal, rejected=[f"cannot be read ({_why(error)})"], keep=True)
    return _sorted_out(path, seal, lock, reading)


def _sorted_out(path: Path, seal: Seal, lock: Claim, reading: Reading) -> FileLeftover:
    """The leftover of a journal read: its bad lines (and a cut-short last one) moved to
    `<name>.rejected` and the journal rewritten with its open undos, or, when that fails, nothing of
    it replayed and the file left as it is."""
    rejected = [why for _, why in reading.rejected]
    if not rejected and not reading.cut:
        return FileLeftover(path, reading.undos, seal, lock, reading.lines)
    aside = path.with_name(path.name + REJECTED)
    try:
        _append(aside, [line for line, _ in reading.rejected] + ([reading.cut] if reading.cut else []))
        _rewrite(path, list(reading.lines.values()))
    except OSError as error:
        rejected.append(f"could not be moved aside ({_why(error)}): the journal is left as it is, none of it replayed")
        return FileLeftover(path, [], seal, lock, rejected=rejected, keep=True)
    shown = printable(aside.name, 100)
    cut = [f"a last line cut short by a kill (its change was never sent) moved to {shown}"] if reading.cut else []
    rejected = [f"{why}; moved to {shown}" for why in rejected]
    return FileLeftover(path, reading.undos, seal, lock, reading.lines, rejected, cut)


def _rewrite(path: Path, lines: list[bytes]) -> None:
    """Replace the journal with `lines`, atomically: a crash meanwhile leaves the old one whole."""
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        _append(scratch, lines)
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def _moved_aside(path: Path, seal: Seal, why: str) -> FileLeftover:
    """A file that is not read at all (a link, a FIFO, a device, too large), renamed out of the way."""
    try:
        aside = _rename_aside(path)
    except OSError as error:
        return FileLeftover(path, [], seal, rejected=[f"{why}; could not be moved aside ({_why(error)})"], keep=True)
    return FileLeftover(path, [], seal, rejected=[f"{why}; moved to {aside}"], keep=True)


def _rename_aside(path: Path) -> str:
    """Rename `path` itself (never what a link names) to `<name>.rejected`, or a fresh name beside
    it; the new name, printable."""
    aside = path.with_name(path.name + REJECTED)
    if os.path.lexists(aside):
        aside = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}{REJECTED}")
    os.rename(path, aside)
    return printable(aside.name, 100)


def _why(error: OSError) -> str:
    return printable(error.strerror or str(error), 120)


class FileCoordination:
    """Leases and journals of one target as files (`--lucs-lease-dir`, `--lucs-journal-dir`)."""

    def __init__(self, config: LucsConfig, token: str = RUN_TOKEN) -> None:
        assert config.base_url is not None
        self.token = token
        self.leases = lease_folder(config.base_url, config.service_id, config.lease_dir)
        self.journals = target_folder(config)
        self.seal = store_seal(config)
        self.where = f"files on this machine, {self.leases}"

    def try_lease(self, agent: str, holder: str) -> FileLease | None:
        return FileLease.take(self.leases, agent, holder)

    def is_leased(self, agent: str) -> bool:
        return is_leased(self.leases, agent)

    def journal(self) -> Journal:
        return Journal(self.journals, self.seal, self.token)

    def leftovers(self) -> Iterator[FileLeftover]:
        return leftovers(self.journals, self.seal)

    def run_alive(self, token: str) -> bool | None:
        """A journal file of that run on this machine tells, by its lock; else nobody can."""
        if token == self.token:
            return True
        for path in self.journals.glob(f"*-{token}-*{SUFFIX}") if self.journals.is_dir() else ():
            lock = Claim(path)
            try:
                if not lock.take():
                    return True
            except OSError:
                continue
            lock.release(remove=False)
            return False
        return None

    def lost(self) -> str | None:
        return None

    def close(self) -> None:
        """Nothing held between calls."""
