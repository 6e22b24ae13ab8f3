"""The harness wakes up when the first scenario needs it: it takes over the stop signals and,
against a real LUCS, checks that the target answers within its timeouts and takes the
credentials, then repairs what earlier runs left on it. A run without scenarios does none of it,
and loads none of the code for it (the client, the coordination store): it is imported here, when
first used."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from lucs_harness.errors import CoordinationError, CredentialsRefused, LucsError, TransportError
from lucs_harness.exit_codes import CREDENTIALS_REFUSED, TARGET_NOT_READY, UNREACHABLE, USAGE
from lucs_harness.plugin.definitions import template_of
from lucs_harness.plugin.session import (
    CONFIG_KEY,
    PID_DIR_KEY,
    RUN_KEY,
    is_worker,
)
from lucs_harness.reporting.faults import cannot_write, why

if TYPE_CHECKING:
    from lucs_harness.client import LucsClient
    from lucs_harness.coordination import Coordination, RunJournal

JOURNAL_OPTION = "--lucs-journal-dir (LUCS_JOURNAL_DIR)"


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


def wakes_harness(item: pytest.Item) -> bool:
    """Whether a collected test may need the harness: a Gherkin scenario (its steps' fixtures are
    only known once it runs) or a test that asks for the target."""
    return template_of(item) is not None or "lucs_target" in getattr(item, "fixturenames", ())


def prepare(config: pytest.Config) -> None:
    """Preflight, repair and readiness of a real target, once per run (under xdist by the
    controller, before any scenario is scheduled). A target that cannot be reached, refuses the credentials or is not
    ready ends the run with its own code."""
    run, lucs = config.stash[RUN_KEY], config.stash[CONFIG_KEY]
    if run.prepared or lucs.base_url is None or is_worker(config):
        return  # an xdist worker's controller did it before any worker started
    run.prepared = True
    from lucs_harness.client import LucsClient
    from lucs_harness.world import ANY_STATUS

    store = coordination(config)  # first: a store that cannot be used ends the run before LUCS hears of it
    _require_writable(config, store)
    client = LucsClient(lucs, lucs.base_url)
    try:
        try:
            client.send("list_users", {"serviceId": lucs.service_id}, expect=ANY_STATUS)
        except CredentialsRefused as refused:
            end_run(config, CREDENTIALS_REFUSED, f"LUCS refused the credentials: {refused}")
        except TransportError as error:  # no connection, or no answer within the read timeout
            end_run(config, UNREACHABLE, f"LUCS could not be reached: {error}")
        except LucsError:
            pass  # reached, and it answered: what is wrong with the answer, the scenarios will say
        with run.interrupts.shielded():  # a first Ctrl-C lets it finish; a second stops it between undos
            refusal = repair_leftovers(config, client, store)
        if refusal is not None and run.exit_code is None:
            end_run(config, USAGE, refusal)  # what the journal held that it must not: someone should look
        if run.exit_code is None and not config.getoption("--lucs-restore-only"):
            _require_ready(config, client)  # not when stopped meanwhile, nor for `lucs-acceptance restore`
    finally:
        client.close()


def repair_leftovers(config: pytest.Config, client: LucsClient, store: Coordination) -> str | None:
    """Undo what dead runs left (`leftovers.repair`), show it at once and keep it for the summary;
    the refusal of what a journal held that it must not (None when it held nothing such)."""
    from lucs_harness.leftovers import repair

    run = config.stash[RUN_KEY]
    found = repair(config.stash[CONFIG_KEY], client, store, stop=lambda: run.interrupts.cut_short, say=progress(config))
    announce(config, [f"lucs: earlier run's leftovers: {line}" for line in found.lines])
    run.repaired += found.lines
    run.unrepaired += found.unsettled
    return found.refusal()


def progress(config: pytest.Config) -> Callable[[str], None]:
    """Where a long replay says how far it got: on the terminal at once."""
    return lambda line: announce(config, [f"lucs: {line}"])


def _require_ready(config: pytest.Config, client: LucsClient) -> None:
    """Every agent of the pool that no live run holds must be able to start the use case: one that
    cannot would fail every scenario with the same finding, so the run names it once and starts none."""
    from lucs_harness.readiness import check_pool, headline, report

    run, lucs = config.stash[RUN_KEY], config.stash[CONFIG_KEY]
    found = check_pool(lucs, client, coordination(config).is_leased, journal_left=run.unrepaired > 0)
    if not found:
        return
    reason, block = report(found)
    announce(config, block, yellow=True)
    run.end(TARGET_NOT_READY, reason)
    pytest.exit(f"{headline(found)} (see above)", returncode=TARGET_NOT_READY)


def coordination(config: pytest.Config) -> Coordination:
    """This process's coordination store, opened at its first use; one that cannot be used ends
    the run with its code (4 refused, 10 unreachable) and one line."""
    from lucs_harness.coordination import open_store

    run = config.stash[RUN_KEY]
    if run.coordination is None:
        try:
            run.coordination = open_store(config.stash[CONFIG_KEY])
        except CoordinationError as error:
            end_run(config, error.code, str(error))
    assert run.coordination is not None
    return run.coordination


def _require_writable(config: pytest.Config, store: Coordination) -> None:
    """The files store's folders must take files before anything is sent: a read-only or missing
    home (the journal's default is under it) would fail every scenario with a traceback, or send
    changes that no journal could undo after a kill. One line names the folder and its option."""
    from lucs_harness.coordination.files import FileCoordination

    if not isinstance(store, FileCoordination):
        return
    for folder, option in ((store.journals, JOURNAL_OPTION), (store.leases, "--lucs-lease-dir")):
        cause = cannot_write(folder)
        if cause is not None:
            end_run(config, USAGE, unwritable(folder, option, cause))


def unwritable(folder: Path, option: str, cause: str) -> str:
    return f"cannot write in {folder} ({cause}); choose another folder with {option}"


def open_journal(config: pytest.Config) -> RunJournal:
    """This process's restore journal; a folder that stopped taking files since the start (a lock
    file on a full disk) ends the run in one line instead of failing every scenario."""
    from lucs_harness.coordination.files import FileCoordination

    store = coordination(config)
    try:
        return store.journal()
    except OSError as error:
        if not isinstance(store, FileCoordination):
            raise
        end_run(config, USAGE, unwritable(store.journals, JOURNAL_OPTION, why(error)))


def announce(config: pytest.Config, lines: list[str], **markup: bool) -> None:
    """Lines on the terminal now, also from a scenario's setup (whose output pytest captures) and
    from an xdist worker (whose terminal is the controller's stderr)."""
    worker = is_worker(config)
    reporter = None if worker else config.pluginmanager.getplugin("terminalreporter")
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
        for line in lines:
            if reporter is not None:
                reporter.write_line(line, **markup)
            else:
                sys.stderr.write(line + "\n")
        sys.stderr.flush()


def end_run(config: pytest.Config, code: int, reason: str) -> NoReturn:
    """End the run now with `code`, `reason` its verdict."""
    config.stash[RUN_KEY].end(code, reason)
    pytest.exit(reason, returncode=code)
