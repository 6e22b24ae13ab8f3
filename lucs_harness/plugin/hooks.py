"""pytest hooks of the harness: `--lucs-*` options, the effective configuration, guard rails,
the repair of an earlier run's leftovers, stopping on refused credentials or a target that stopped
answering, stopping on a signal, and the end-of-run summaries and verdicts.
The fixtures live in `lucs_harness.plugin.fixtures`."""

from __future__ import annotations

import functools
import gc
import json
import os
import sys
import tempfile
from collections.abc import Generator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.parser import Feature, Scenario, Step

from lucs_harness.config import (
    FIELDS,
    LucsConfig,
    add_field_options,
    load_config,
    secrets_on_command_line,
)
from lucs_harness.errors import ConfigError, CredentialsRefused, RunInterrupted
from lucs_harness.exit_codes import CREDENTIALS_REFUSED, EARLY_ENDS, INTERRUPTED, USAGE
from lucs_harness.interrupts import relay_signal
from lucs_harness.option_names import OTHER_OPTIONS, cli_option
from lucs_harness.plugin.session import (
    CONFIG_KEY,
    FAULTS_KEY,
    MOCK_SEED_KEY,
    PID_DIR_KEY,
    RUN_KEY,
    SHARD_KEY,
    WORLD_KEY,
    RunState,
    is_worker,
)
from lucs_harness.plugin.target import activate, end_run, prepare, wakes_harness
from lucs_harness.redact import Redactor, scrub_files
from lucs_harness.reporting.allure_results import write_run_files
from lucs_harness.reporting.faults import ALLURE, CUCUMBER, JUNIT, ReportFaults
from lucs_harness.reporting.retries import allure_flaky, junit_tries
from lucs_harness.reporting.verdict import (
    DRY_RUN,
    FLAKY,
    LIST_SEPARATOR,
    NOT_RESTORED,
    ReportPaths,
    annotate,
    junit_name,
)
from lucs_harness.sharding import sharded

FAILED_AT_KEY = pytest.StashKey[str]()
WAKES = "wakes-"  # + a worker's id: the file in the workers' folder saying its selection needs the harness
_FROZEN: list[bool] = []  # whether this process froze what its first session's start-up made
MESSAGE_LINES = 10  # of a failure's message on the terminal, by default
# why a scenario is skipped against a real LUCS: short, the summary line counts scenarios by them
MOCK_ONLY = "mock-only (needs the mock's clock)"
CHANGES_NOT_ALLOWED = "changes not allowed on this target (--lucs-allow-changes)"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lucs", "LUCS acceptance harness (each option also LUCS_<NAME> or a config file key)")
    for option, metavar, text in OTHER_OPTIONS:
        repeatable = option == "--lucs-mock-fault"
        group.addoption(option, action="append" if repeatable else "store", default=[] if repeatable else None,
                        metavar=metavar, help=text)  # fmt: skip
    group.addoption(
        "--lucs-show-config", action="store_true", help="print the effective configuration (secrets masked) and exit"
    )
    group.addoption(
        "--lucs-restore-only",
        action="store_true",
        help="repair what earlier runs left on the target (their restore journals, open tasks), run nothing",
    )
    add_field_options(group.addoption)


def pytest_configure(config: pytest.Config) -> None:
    run = config.stash[RUN_KEY] = RunState()  # first: even a configuration error gets its verdict
    cli = {name: config.getoption(cli_option(name)) for name in FIELDS}
    file = config.getoption("--lucs-config")
    try:
        lucs = load_config(
            cli=cli,
            config_file=Path(file) if file else None,
            profile=config.getoption("--lucs-profile"),
            root=Path(str(config.rootpath)),
        )
        config.stash[FAULTS_KEY] = _fault_names(config.getoption("--lucs-mock-fault"))
        config.stash[MOCK_SEED_KEY] = _mock_seed(config.getoption("--lucs-mock-data"))
        shard, lucs = sharded(config, lucs)  # once, here: everything downstream sees the shard's slice
    except ConfigError as error:  # a ShardError too
        run.end(USAGE, str(error))
        raise pytest.UsageError(str(error)) from None
    config.stash[CONFIG_KEY], config.stash[SHARD_KEY] = lucs, shard
    worker = is_worker(config)
    if not worker:
        for option in secrets_on_command_line(cli):
            sys.stderr.write(
                f"lucs: warning: a secret on the command line ({option}) is visible to every user of this machine "
                "and in the shell history; use the LUCS_* environment variable or .env instead\n"
            )
    run.interrupts.listeners.append(lambda level: _stop(config, level))
    run.interrupts.install_relay()
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistRelay(config), "lucs-xdist-relay")
    if config.getoption("--lucs-show-config"):
        _show_config(config, lucs)


def _show_config(config: pytest.Config, lucs: LucsConfig) -> None:
    """The effective configuration as JSON, secrets masked, alone on stdout (a script may pipe it
    into jq: pytest's terminal reporter is not set up yet), as a shard of the run uses it."""
    print(json.dumps(lucs.masked(), indent=2))
    pytest.exit("effective LUCS configuration shown", returncode=0)


def _fault_names(names: list[str]) -> list[str]:
    """The mock faults asked for, checked now (the mock's code is loaded only when some are)."""
    if names:
        from lucs_harness.mock.faults import UnknownFault, parse_faults

        try:
            parse_faults(names)
        except UnknownFault as error:
            raise ConfigError(str(error)) from None
    return names


def _mock_seed(path: str | None) -> Any:
    """The seed or capture the embedded mock serves instead of its own, checked now."""
    if not path:
        return None
    from lucs_harness.mock.capture import load_data
    from lucs_harness.mock.seed import SeedError

    try:
        return load_data(Path(path))
    except (SeedError, OSError) as error:
        raise ConfigError(f"--lucs-mock-data: {' '.join(str(error).split())}") from None


def _stop(config: pytest.Config, level: int) -> None:
    """A stop request: no new scenario starts (here, and on the xdist workers)."""
    run = config.stash[RUN_KEY]
    reason = run.interrupts.reason()
    run.end(INTERRUPTED, reason)
    if run.session is not None:
        run.session.shouldstop = reason
    dsession = config.pluginmanager.getplugin("dsession")
    if dsession is not None:
        dsession.shouldstop = reason
    relay = config.pluginmanager.getplugin("lucs-xdist-relay")
    if isinstance(relay, _XdistRelay):
        relay.signal_workers(level)
    if run.interrupts.cut_short:
        _cut_restores_short(run)


def _cut_restores_short(run: RunState) -> None:
    """A second stop request: the restores not yet done undo nothing more (it stays journaled)."""
    for registry in list(run.live):
        registry.cut_short = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a real LUCS (and in a dry run against one), state-changing scenarios need an explicit
    `--lucs-allow-changes`, and scenarios that drive the mock's clock cannot run at all."""
    lucs = config.stash[CONFIG_KEY]
    if lucs.is_mock:
        return
    mock_only = pytest.mark.skip(reason=MOCK_ONLY)
    changes = pytest.mark.skip(reason=CHANGES_NOT_ALLOWED)
    for item in items:  # a dry run skips what the real run would skip
        if item.get_closest_marker("mock-only"):
            item.add_marker(mock_only)
        elif item.get_closest_marker("changes-state") and not lucs.allow_changes:
            item.add_marker(changes)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A 401 in any scenario stops the run: every later call would be refused too. An interrupted
    scenario is reported in one line, a failed step as `readable_failure` (unless `--tb` says)."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(RunInterrupted):
        report.longrepr = str(call.excinfo.value)  # one line: the traceback of a signal says nothing
    elif (
        call.excinfo is not None
        and call.excinfo.errisinstance(AssertionError)
        and FAILED_AT_KEY in item.stash
        and item.config.getoption("tbstyle", "auto") == "auto"
    ):
        report.longrepr = readable_failure(item, call.excinfo.value)
    if call.excinfo is not None and call.excinfo.errisinstance(CredentialsRefused):
        reason = "LUCS refused the credentials; stopping (see the first failure)"
        item.config.stash[RUN_KEY].end(CREDENTIALS_REFUSED, reason)
        item.session.shouldstop = reason
    return report


def readable_failure(item: pytest.Item, error: BaseException) -> str:
    """A failed step as a person reads it: feature file and line, scenario, the step, the message,
    the last exchange; the traceback (pytest internals) only with `--tb=long`."""
    lines = str(error).splitlines()  # each already bounded: bodies are quoted in excerpts
    if len(lines) > MESSAGE_LINES:
        lines = [*lines[:MESSAGE_LINES], f"… {len(lines) - MESSAGE_LINES} more lines (--tb=long shows all)"]
    world = item.stash.get(WORLD_KEY, None)
    last = world.client.last_exchange if world is not None else None
    exchange = [f"  last exchange: {last.what} ({last.elapsed_ms:.0f} ms)"] if last is not None else []
    return "\n".join([item.stash[FAILED_AT_KEY], *(f"  {line}" for line in lines), *exchange])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with item.config.stash[RUN_KEY].interrupts.raising():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with item.config.stash[RUN_KEY].interrupts.raising():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """The restore runs here: a first stop request lets it finish, a second cuts it short. Cut short
    before it began, the teardown still runs to its end (Allure closes the scenario there) and the
    restore undoes nothing."""
    run = item.config.stash[RUN_KEY]
    if run.interrupts.cut_short:
        _cut_restores_short(run)
    with run.interrupts.shielded(), run.interrupts.raising():
        return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Feature, scenario: Scenario, step: Step) -> None:
    """Note where the scenario failed, for the terminal; attach the last response to the failing
    step: the report shows what the check judged."""
    request.node.stash[FAILED_AT_KEY] = (
        f"{feature.rel_filename}:{scenario.line_number}: Scenario: {scenario.name}\n"
        f"  failed at line {step.line_number}: {step.keyword} {step.name}"
    )
    world = request.node.stash.get(WORLD_KEY, None)
    last = world.client.last_exchange if world is not None else None
    if world is not None and last is not None and request.config.getoption("allure_report_dir", None):
        from lucs_harness.reporting.exchanges import allure_listener

        redactor = world.config.redactor()
        allure_listener(redactor, prefix="last response: ")(last)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Mask secrets in what pytest prints; with `--lucs-restore-only`, repair the target and stop.
    Everything else waits until a scenario needs the harness (`lucs_harness.plugin.target`)."""
    config = session.config
    run, lucs = config.stash[RUN_KEY], config.stash[CONFIG_KEY]
    run.session = session
    _guard_terminal(config, lucs.redactor())
    real = lucs.base_url is not None and not lucs.dry_run
    if not config.getoption("--lucs-restore-only") or is_worker(config):
        return
    if not real:
        pytest.exit("nothing to restore: the embedded mock (or a dry run's) keeps no state", returncode=0)
    prepare(config)
    done, left = len(run.repaired) - run.unrepaired, run.unrepaired
    pytest.exit(f"restore: {done} done, {left} not" if run.repaired else "nothing to restore", 1 if left else 0)


def _guard_terminal(config: pytest.Config, redactor: Redactor) -> None:
    """Whatever pytest prints passes the redactor, at any verbosity; and a terminal that went away
    (a closed ssh session answers writes with EIO) ends the output, not the run and its restore."""
    reporter = config.pluginmanager.getplugin("terminalreporter")
    writer = getattr(reporter, "_tw", None)
    file = getattr(writer, "_file", None)
    if file is not None and not isinstance(file, _GuardedTerminal):
        writer._file = _GuardedTerminal(file, redactor)  # type: ignore[union-attr]


class _GuardedTerminal:
    """A text stream that masks secrets, and goes quiet once writing to it fails."""

    def __init__(self, file: Any, redactor: Redactor) -> None:
        self._inner, self._redactor, self._lost = file, redactor, False

    def write(self, text: str) -> int:
        if not self._lost:
            try:
                self._inner.write(self._redactor.text(text))
            except OSError:
                self._lost = True
        return len(text)

    def flush(self) -> None:
        if not self._lost:
            try:
                self._inner.flush()
            except OSError:
                self._lost = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _pool_problem(config: pytest.Config) -> str | None:
    """Against a shared LUCS every xdist worker needs an agent of its own: why this run can't."""
    workers, shard = config.getoption("numprocesses", None), config.stash[SHARD_KEY]
    slice_name = str(shard) if shard else None
    return config.stash[CONFIG_KEY].pool_problem(workers if isinstance(workers, int) else None, slice_name)


class _XdistRelay:
    """The xdist controller's side: relays a stop request to the workers (each runs its own
    scenario's restore), and carries each worker's unrestored changes back for the summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.run = config.stash[RUN_KEY]
        self.pid_dir: Path | None = None

    def pytest_configure_node(self, node: Any) -> None:
        if self.pid_dir is None:
            self.pid_dir = Path(tempfile.mkdtemp(prefix="lucs-workers-"))
        node.workerinput[PID_DIR_KEY] = str(self.pid_dir)

    def signal_workers(self, level: int) -> None:
        """SIGUSR1 (stop) or SIGUSR2 (cut the restore short): a worker that got the user's own
        signal as well (Ctrl-C reaches the whole process group) counts the request once."""
        relay = relay_signal(level)
        for pid_file in self.pid_dir.iterdir() if self.pid_dir else ():
            with suppress(OSError):
                if pid_file.name.isdigit():
                    os.kill(int(pid_file.name), relay)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """The selection, as a worker collected it (every worker collects the same). When it holds a
        LUCS scenario, the controller wakes up before any is scheduled: it takes the stop signals to
        relay them, and a real target is prepared once, before any worker leases an agent (a
        replayed undo meets no live scenario). A selection without one contacts nobody."""
        if self.run.selected or self.pid_dir is None:
            return
        self.run.selected = list(ids)
        if (self.pid_dir / f"{WAKES}{node.gateway.id}").exists():
            problem = _pool_problem(self.config)
            if problem:
                end_run(self.config, USAGE, problem)
            activate(self.config)
            lucs = self.config.stash[CONFIG_KEY]
            if lucs.base_url is not None and not lucs.dry_run:
                prepare(self.config)

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", {})
        self.run.not_restored.extend(output.get("lucs_not_restored", []))
        self.run.dry_run.extend((name, lines) for name, lines in output.get("lucs_dry_run", []))
        self.run.reports.merge(output.get("lucs_report_faults", {}))
        if output.get("lucs_exit_code") is not None:
            self.run.end(output["lucs_exit_code"], output.get("lucs_reason") or "")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.pid_dir is not None:
            for pid_file in self.pid_dir.iterdir():
                pid_file.unlink(missing_ok=True)
            self.pid_dir.rmdir()


@pytest.hookimpl(tryfirst=True)  # an xdist worker's marker must exist before it reports its collection
def pytest_collection_finish(session: pytest.Session) -> None:
    """The selection (after -k, -m, --tags and a shard's share): the scenarios the reports account
    for. An xdist worker whose selection holds a LUCS scenario says so to its controller.

    What start-up and collection made (modules, plugins, the items) lives as long as the run: frozen
    out of the garbage collector's sight (`gc.freeze`), it is not walked again by every full
    collection, nor by pytest's at the end, nor by the interpreter's at exit (some 0.1 s of CPU in a
    run of 14 scenarios). Only where the selection needs the harness: the plugin changes nothing in
    a run of other tests; and once per process, so that sessions run in one process (pytester)
    freeze no garbage of the sessions before."""
    config = session.config
    config.stash[RUN_KEY].selected = [item.nodeid for item in session.items]
    if not any(wakes_harness(item) for item in session.items):
        return
    worker = getattr(config, "workerinput", {})
    if worker.get(PID_DIR_KEY):
        (Path(worker[PID_DIR_KEY]) / f"{WAKES}{worker['workerid']}").touch()
    if not _FROZEN:
        gc.freeze()
        _FROZEN.append(True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Hand a worker's findings to the controller; the controller writes Allure's run files."""
    config = session.config
    run, lucs = config.stash[RUN_KEY], config.stash[CONFIG_KEY]
    if run.left_changed is not None and run.left_changed.not_run:  # one finding, not a line per scenario
        run.not_restored.append(run.left_changed.finding())
    if is_worker(config):
        config.workeroutput["lucs_not_restored"] = run.not_restored  # type: ignore[attr-defined]
        config.workeroutput["lucs_dry_run"] = run.dry_run  # type: ignore[attr-defined]
        config.workeroutput["lucs_exit_code"] = run.exit_code  # type: ignore[attr-defined]
        config.workeroutput["lucs_reason"] = run.reason  # type: ignore[attr-defined]
        config.workeroutput["lucs_report_faults"] = run.reports.failed  # type: ignore[attr-defined]
        return
    if run.exit_code is not None:
        session.exitstatus = run.exit_code  # the run's own verdict: interrupted, unreachable, refused, no agent
    results = config.getoption("allure_report_dir", None)
    if results:
        profile = config.getoption("--lucs-profile")
        run.reports.attempt(
            ALLURE, Path(results), lambda: write_run_files(Path(results), lucs, profile, run.not_restored, run.repaired)
        )
        if run.flaky:
            run.reports.attempt(ALLURE, Path(results), lambda: allure_flaky(Path(results)))


def pytest_unconfigure(config: pytest.Config) -> None:
    """After every report is written: say in each why the run ended early (so a CI gate sees a
    report whatever the exit), mark a dry run, and mask any configured secret that slipped in."""
    if RUN_KEY not in config.stash:
        return
    run = config.stash[RUN_KEY]
    if is_worker(config):
        folder = getattr(config, "workerinput", {}).get(PID_DIR_KEY)
        if folder:  # gone: no relay may reach a process that reuses this pid
            (Path(folder) / str(os.getpid())).unlink(missing_ok=True)
        return
    lucs = config.stash.get(CONFIG_KEY, None)
    paths = ReportPaths.of(config)
    reason = run.interrupts.reason() if run.exit_code == INTERRUPTED else run.reason or ""
    if run.exit_code == INTERRUPTED and run.not_restored:
        reason += f"; {len(run.not_restored)} change(s) not restored (see lucs.not_restored)"
    verdict = (run.exit_code, reason) if run.exit_code in EARLY_ENDS else None
    properties = {NOT_RESTORED: LIST_SEPARATOR.join(run.not_restored)} if run.not_restored else {}
    if lucs is not None and lucs.dry_run:
        properties[DRY_RUN] = "true: nothing was sent to the target"
    if run.flaky:
        properties[FLAKY] = LIST_SEPARATOR.join(run.flaky)
    junit = paths.junit
    if junit is not None:
        run.reports.attempt(JUNIT, junit, lambda: junit_tries(junit, run.failed_tries))
    annotate(paths, verdict, properties, _selected(config, run), run.reports)
    if lucs is not None:
        _scrub(paths, lucs.secrets(), run.reports)
    _end_report_faults(run)


def _scrub(paths: ReportPaths, secrets: list[str], faults: ReportFaults) -> None:
    """Mask any configured secret that slipped into a report, one report at a time: a report whose
    rewrite fails goes (it may be cut, or still hold the secret)."""
    for name, path in ((JUNIT, paths.junit), (CUCUMBER, paths.cucumber), (ALLURE, paths.allure)):
        if path is not None and path.exists():
            faults.attempt(name, path, functools.partial(scrub_files, [path], secrets))


def _end_report_faults(run: RunState) -> None:
    """One line per report the run could not write whole, and exit 12 where the run passed."""
    for line in run.reports.lines("lucs: "):
        sys.stderr.write(line + "\n")
    if run.session is not None:
        run.session.exitstatus = run.reports.code(run.session.exitstatus)


def _selected(config: pytest.Config, run: RunState) -> list[tuple[str, str]]:
    """Where the run ended early, the selected scenarios as JUnit names them: those it never reached
    are reported as not run. A run that went to its end (or stopped at `-x`) keeps pytest's report."""
    interrupted = run.session is not None and run.session.exitstatus == INTERRUPTED
    if run.exit_code not in EARLY_ENDS and not interrupted:
        return []
    prefix = config.getoption("junitprefix", None)
    return [junit_name(nodeid, prefix) for nodeid in run.selected]


def _drift_line(terminalreporter: pytest.TerminalReporter, record: Path) -> None:
    """With `--lucs-record`, what the recorded exchanges show that the schemas do not say."""
    from lucs_harness.contract import default_contract
    from lucs_harness.reporting.recording import EXCHANGES, write_drift

    if (record / EXCHANGES).is_dir():
        terminalreporter.write_line(f"lucs: {write_drift(record, default_contract())}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    run, lucs = terminalreporter.config.stash[RUN_KEY], terminalreporter.config.stash[CONFIG_KEY]
    if lucs.record:
        _drift_line(terminalreporter, Path(lucs.record))
    if lucs.dry_run:
        target = lucs.redactor().url(lucs.base_url or "")
        terminalreporter.section(f"LUCS DRY RUN: requests each scenario would send (none was sent to {target})")
        for name, lines in sorted(run.dry_run):
            terminalreporter.write_line(name)
            for line in lines:
                terminalreporter.write_line(f"    {line}")
    if run.repaired:
        terminalreporter.section("LUCS: WHAT EARLIER RUNS LEFT, REPAIRED BEFORE THIS RUN")
        for line in run.repaired:
            terminalreporter.write_line(line)
    if run.reason and run.exit_code is not None:
        terminalreporter.write_line(f"lucs: run ended early (exit {run.exit_code}): {run.reason}", yellow=True)
    failures = run.not_restored
    if failures:
        terminalreporter.section("LUCS STATE NOT RESTORED", sep="!", red=True, bold=True)
        for line in failures:
            terminalreporter.write_line(line, red=True)
