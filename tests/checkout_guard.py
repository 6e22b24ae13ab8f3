"""A guard for the harness's own tests (`make test` and `make check` load it: `-p tests.checkout_guard`):
they touch only what they create. The checkout's reports folder and report history are a user's:
a test session that changes them fails. Not a conftest: the suite runs the tests start in this
checkout must not judge each other's files."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUARDED = (ROOT / "reports", ROOT / ".lucs-history")
SNAPSHOT = pytest.StashKey[dict[str, tuple[int, int]]]()


def _snapshot() -> dict[str, tuple[int, int]]:
    """Every file under the guarded folders, with its size and modification time."""
    found = {}
    for folder in GUARDED:
        for path in folder.rglob("*") if folder.is_dir() else ():
            if path.is_file():
                stat = path.stat()
                found[str(path.relative_to(ROOT))] = (stat.st_size, stat.st_mtime_ns)
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[SNAPSHOT] = _snapshot()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return  # the controller judges the whole run
    before, after = session.config.stash[SNAPSHOT], _snapshot()
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    if changed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.getplugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"tests changed the checkout's own files: {', '.join(changed[:10])}", red=True)
