"""Reports written whole or not at all. A full disk (ENOSPC) or a file-size limit (EFBIG: Python
and Node ignore SIGXFSZ, so a write past `ulimit -f` fails instead of killing the process) must
neither end the run, whose restore does not depend on its reports, nor leave an empty or cut
file that a CI gate or a reader would take for the whole report.

So every report file is written under a temporary name and renamed into place once complete; a
report that could not be written whole is removed, written no more in this run, and named in one
line at the end, with why; the run then exits 12 where it would have exited 0."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from lucs_harness.exit_codes import PASSED, REPORT_FAILED

# the reports by the names the summary line gives them
HTML, ALLURE, JUNIT, CUCUMBER = "HTML", "Allure results", "JUnit", "Cucumber"
PARTIAL = ".partial-"  # the infix of a report file still being written
T = TypeVar("T")


def ignore_file_size_signal() -> None:
    """A write past `ulimit -f` must fail with EFBIG, not kill the process before its restore or
    its summary: CPython ignores SIGXFSZ at start-up, an embedding interpreter may not, and
    `subprocess` gives its children the default (which kills) until their own start-up."""
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def partial_name(path: Path) -> Path:
    """Where `path` is written until it is complete: beside it (a rename stays on one file system),
    hidden, and named by no glob of a report reader (`*-result.json`, `*.xml`)."""
    return path.with_name(f".{path.name}{PARTIAL}{os.getpid()}")


def write_whole(path: Path, data: bytes) -> None:
    """Write `data` to `path` at once or not at all: a reader sees the old file or the whole new one,
    never a part; a failed write leaves no partial file behind."""
    partial = partial_name(path)
    try:
        with partial.open("wb") as file:
            file.write(data)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def remove_report(path: Path) -> None:
    """Remove a report that is not whole: a file, or a folder of results."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def noun(name: str) -> str:
    """`JUnit report`, `Allure results`: a report as a line names it."""
    return name if name == ALLURE else f"{name} report"


def why(error: OSError) -> str:
    """An OS error in a few words: `[Errno 28] No space left on device`, without the file name."""
    if error.errno is not None and error.strerror:
        return f"[Errno {error.errno}] {error.strerror}"
    return f"{type(error).__name__}: {error}"


def cannot_write(folder: Path) -> str | None:
    """Why no file can be created in `folder` (made first where missing), or None when one can: a
    read-only home, a file where a folder should be. Tried, not judged by its mode (root ignores it)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".lucs-probe-"):
            pass
    except OSError as error:
        return why(error)
    return None


@dataclass
class ReportFaults:
    """The reports this process could not write whole: name -> `path: why`, each the first fault."""

    failed: dict[str, str] = field(default_factory=dict)

    def broken(self, name: str) -> bool:
        return name in self.failed

    def fail(self, name: str, path: Path, error: OSError) -> None:
        """`name` at `path` cannot be written whole: removed at once (which also frees the disk for
        the restore journal and the other reports), and written no more in this run."""
        if name not in self.failed:
            self.failed[name] = f"{path}: {why(error)}"
        remove_report(path)

    def note(self, name: str, path: Path, text: str) -> None:
        """`name` was not written, for a reason other than the disk (`text`)."""
        self.failed.setdefault(name, f"{path}: {text}")

    def attempt(self, name: str, path: Path | None, write: Callable[[], T]) -> T | None:
        """Run `write`, a write of report `name` at `path`, unless that report is broken already;
        a failure of the disk breaks the report instead of the run. None when not written."""
        if path is None or self.broken(name):
            return None
        try:
            return write()
        except OSError as error:
            self.fail(name, path, error)
            return None

    def merge(self, failed: Mapping[str, str]) -> None:
        """Faults another process met (an xdist worker), the first of each report kept."""
        for name, text in failed.items():
            self.failed.setdefault(name, text)

    def lines(self, prefix: str) -> Iterator[str]:
        """One line per report not written: which, where, and why."""
        for name, text in self.failed.items():
            yield f"{prefix}{noun(name)} not written: {text}"

    def code(self, code: int) -> int:
        """The run's exit code: a run that passed but lost a report did not publish (12); any other
        code says more and stays (the line above names the report)."""
        return REPORT_FAILED if self.failed and code == PASSED else code
