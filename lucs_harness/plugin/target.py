"""The harness wakes up when the first scenario needs it: it takes over the stop signals and,
against a real LUCS, checks that the target answers within its timeouts and takes the
credentials, then repairs what earlier runs left on it. A run without scenarios does none of it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lucs_harness.client import CredentialsRefused, LucsClient, LucsError, TransportError
from lucs_harness.coordination import Coordination, CoordinationError, open_store
from lucs_harness.exit_codes import CREDENTIALS_REFUSED, UNREACHABLE
from lucs_harness.leftovers import repair
from lucs_harness.plugin.session import (
    CONFIG_KEY,
    PID_DIR_KEY,
    RUN_KEY,
)
from lucs_harness.world import ANY_STATUS


def activate(config: pytest.Config) -> None:
    """Take over SIGINT, SIGTERM and SIGHUP (once per process); an xdist worker also tells its
    controller that it takes the relayed stop requests."""
    run = config.stash[RUN_KEY]
    if run.active:
        return
    run.active = True
    run.interrupts.install()
    folder = getattr(config, "workerinput", {}).get(PID_DIR_KEY)
    if folder:
        (Path(folder) / str(os.getpid())).touch()


def prepare(config: pytest.Config) -> None:
    """Preflight and repair of a real target, once per run (by the xdist controller, before the
    workers start). A target that cannot be reached or refuses the credentials ends the run with
    its own code."""
    run, lucs = config.stash[RUN_KEY], config.stash[CONFIG_KEY]
    if run.prepared or lucs.base_url is None or hasattr(config, "workerinput"):
        return  # an xdist worker's controller did it before any worker started
    run.prepared = True
    store = coordination(config)  # first: a store that cannot be used ends the run before LUCS hears of it
    client = LucsClient(lucs, lucs.base_url)
    try:
        try:
            client.send("list_users", {"serviceId": lucs.service_id}, expect=ANY_STATUS)
        except CredentialsRefused as refused:
            _end(config, CREDENTIALS_REFUSED, f"LUCS refused the credentials: {refused}")
        except TransportError as error:  # no connection, or no answer within the read timeout
            _end(config, UNREACHABLE, f"LUCS could not be reached: {error}")
        except LucsError:
            pass  # reached, and it answered: what is wrong with the answer, the scenarios will say
        with run.interrupts.shielded():  # a first Ctrl-C lets it finish; a second stops it between undos
            found = repair(lucs, client, store, stop=lambda: run.interrupts.cut_short)
        run.repaired, run.unrepaired = found.lines, found.unsettled
    finally:
        client.close()
    reporter = config.pluginmanager.getplugin("terminalreporter")
    for line in run.repaired:
        if reporter is not None:
            reporter.write_line(f"lucs: earlier run's leftovers: {line}")


def coordination(config: pytest.Config) -> Coordination:
    """This process's coordination store, opened at its first use; one that cannot be used ends
    the run with its code (4 refused, 10 unreachable) and one line."""
    run = config.stash[RUN_KEY]
    if run.coordination is None:
        try:
            run.coordination = open_store(config.stash[CONFIG_KEY])
        except CoordinationError as error:
            _end(config, error.code, str(error))
    assert run.coordination is not None
    return run.coordination


def announce(config: pytest.Config, line: str) -> None:
    """A line on the terminal now, also from an xdist worker and inside a scenario's setup (whose
    output pytest would otherwise capture)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        sys.stderr.write(f"lucs: {line}\n")
        return
    with capture.global_and_fixture_disabled():
        sys.stderr.write(f"lucs: {line}\n")
        sys.stderr.flush()


def _end(config: pytest.Config, code: int, reason: str) -> None:
    config.stash[RUN_KEY].end(code, reason)
    pytest.exit(reason, returncode=code)
