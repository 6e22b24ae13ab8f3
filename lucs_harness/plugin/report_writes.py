"""Every report of a run written whole or not at all (`lucs_harness.reporting.faults`): pytest's
JUnit writer and pytest-bdd's Cucumber writer write under a temporary name and rename into place,
Allure's file logger is guarded; a write that fails (a full disk, a file-size limit) breaks that
report, not the run: no INTERNALERROR, every scenario still restores what it changed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _pytest.junitxml import xml_key

from lucs_harness.plugin.session import RUN_KEY
from lucs_harness.reporting.faults import CUCUMBER, JUNIT, ReportFaults, ignore_file_size_signal, partial_name


def pytest_configure(config: pytest.Config) -> None:
    ignore_file_size_signal()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Guard the writers once every plugin has set up its own (pytest-bdd's and allure's set-up are
    trylast too, so no order within pytest_configure is sure to come after them)."""
    config = session.config
    if RUN_KEY not in config.stash:
        return
    faults = config.stash[RUN_KEY].reports
    if config.getoption("allure_report_dir", None):  # allure-pytest-bdd's file logger runs only then
        from lucs_harness.reporting.exchanges import GuardedFileLogger

        GuardedFileLogger.take_over(faults)
    guard_cache(config)
    writers = ((config.stash.get(xml_key, None), JUNIT), (getattr(config, "_bddcucumberjson", None), CUCUMBER))
    for writer, name in writers:
        if writer is not None:
            guard_logfile(config, writer, name, faults)


def guard_cache(config: pytest.Config) -> None:
    """pytest's cache (last failures, the durations shards balance by) is a help, not a report: a
    write to it that fails on a full disk is dropped with a warning, as pytest drops one that
    cannot create its folder, instead of ending the session before the reports."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return
    write = cache.set

    def guarded(key: str, value: object) -> None:
        try:
            write(key, value)
        except OSError as error:
            cache.warn(f"cache could not write {key}: {error}", _ispytest=True)

    cache.set = guarded


def guard_logfile(config: pytest.Config, writer: Any, name: str, faults: ReportFaults) -> None:
    """Re-register `writer` (pytest's LogXML or pytest-bdd's LogBDDCucumberJSON, each writing its
    `logfile` whole at session finish) with that write made under a temporary name and renamed into
    place once complete, and its `generated … file` line only for a file that was. pluggy binds a
    plugin's hooks when it is registered, so the methods are replaced between the two."""
    write, summary = writer.pytest_sessionfinish, writer.pytest_terminal_summary
    final = Path(writer.logfile)

    def pytest_sessionfinish() -> None:
        writer.logfile = str(partial_name(final))
        try:
            faults.attempt(name, final, lambda: publish(write, partial_name(final), final))
        finally:
            writer.logfile = str(final)

    @functools.wraps(summary)
    def pytest_terminal_summary(*args: Any, **kwargs: Any) -> None:
        if not faults.broken(name):
            summary(*args, **kwargs)

    config.pluginmanager.unregister(writer)
    writer.pytest_sessionfinish = pytest_sessionfinish
    writer.pytest_terminal_summary = pytest_terminal_summary
    config.pluginmanager.register(writer)


def publish(write: Callable[[], None], partial: Path, final: Path) -> None:
    """`write` the file at `partial`, then rename it to `final`; no part of it is left on failure."""
    try:
        write()
        partial.replace(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
