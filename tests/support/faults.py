"""Local faults as the harness meets them on a CI runner, made without root: a file-size limit
(RLIMIT_FSIZE, `ulimit -f`: a write past it fails with EFBIG, since Python and Node ignore SIGXFSZ)
and a folder that cannot be created (its parent is a regular file: ENOTDIR, which root meets too)."""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_size_limit(size: int) -> Iterator[None]:
    """This process's writes past `size` bytes fail with EFBIG until the block ends. No bytecode is
    written meanwhile: Python would leave a cut .pyc behind (it does not check a short write)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    writes_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        sys.dont_write_bytecode = writes_bytecode


def limited_to(size: int) -> Callable[[], None]:
    """A `preexec_fn` that starts a child process (and its children) under a file-size limit."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def uncreatable(tmp_path: Path, *parts: str) -> Path:
    """A folder path under a regular file: mkdir fails with ENOTDIR, also for root (who ignores modes)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    return blocker.joinpath(*parts)
