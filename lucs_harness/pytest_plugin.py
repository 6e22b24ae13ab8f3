"""pytest hooks of the harness: `--lucs-*` options, the effective configuration, guard rails,
stopping on refused credentials, restore on interrupt, and the end-of-run summaries.
The fixtures live in `lucs_harness.fixtures`."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Generator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from lucs_harness.client import CredentialsRefused, LucsClient, Unreachable
from lucs_harness.config import ConfigError, LucsConfig, load_config
from lucs_harness.mock.faults import UnknownFault, parse_faults
from lucs_harness.redact import Redactor, scrub_files
from lucs_harness.reporting.allure_results import write_run_files
from lucs_harness.reporting.exchanges import allure_listener
from lucs_harness.session import (
    CONFIG_KEY,
    EXIT_CREDENTIALS_REFUSED,
    EXIT_UNREACHABLE,
    FAULTS_KEY,
    RUN_KEY,
    WORLD_KEY,
    RunState,
)


def _option(name: str) -> str:
    return "--lucs-" + name.replace("_", "-")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lucs", "LUCS acceptance harness (each option also LUCS_<NAME> or a config file key)")
    group.addoption(
        "--lucs-config", default=None, help="config file (default: lucs.toml, else [tool.lucs] in pyproject.toml)"
    )
    group.addoption("--lucs-profile", default=None, help="named profile of the config file, e.g. staging")
    group.addoption(
        "--lucs-show-config", action="store_true", help="print the effective configuration (secrets masked) and exit"
    )
    group.addoption(
        "--lucs-mock-fault",
        action="append",
        default=[],
        metavar="NAME",
        help="embedded mock only: break one documented behaviour (repeatable; `lucs-mock faults` lists them)",
    )
    for name, info in LucsConfig.model_fields.items():
        if info.annotation is bool and info.default is False:
            group.addoption(_option(name), action="store_const", const=True, default=None, help=info.description)
        else:
            group.addoption(_option(name), default=None, metavar=name.upper(), help=info.description)


def pytest_configure(config: pytest.Config) -> None:
    cli = {name: config.getoption(_option(name)) for name in LucsConfig.model_fields}
    file = config.getoption("--lucs-config")
    try:
        lucs = load_config(
            cli=cli,
            config_file=Path(file) if file else None,
            profile=config.getoption("--lucs-profile"),
            root=Path(str(config.rootpath)),
        )
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
    try:
        config.stash[FAULTS_KEY] = parse_faults(config.getoption("--lucs-mock-fault"))
    except UnknownFault as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[CONFIG_KEY] = lucs
    _check_pool_size(config, lucs)
    config.stash[RUN_KEY] = RunState()
    if not hasattr(config, "workerinput"):
        _stop_on_sigterm()
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistRelay(config.stash[RUN_KEY]), "lucs-xdist-relay")
    if config.getoption("--lucs-show-config"):
        print(json.dumps(lucs.masked(), indent=2))
        pytest.exit("effective LUCS configuration shown", returncode=0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a real LUCS, state-changing scenarios need an explicit `--lucs-allow-changes`, and
    scenarios that drive the mock's clock cannot run at all."""
    lucs = config.stash[CONFIG_KEY]
    if lucs.is_mock:
        return
    mock_only = pytest.mark.skip(reason="needs the mock's simulated clock; a real LUCS has none")
    changes = pytest.mark.skip(reason="changes the state of a real LUCS; pass --lucs-allow-changes to run it")
    for item in items:
        if item.get_closest_marker("mock-only") and not lucs.dry_run:
            item.add_marker(mock_only)
        elif item.get_closest_marker("changes-state") and not (lucs.allow_changes or lucs.dry_run):
            item.add_marker(changes)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A 401 in any scenario stops the run: every later call would be refused too."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(CredentialsRefused):
        item.config.stash[RUN_KEY].exit_code = EXIT_CREDENTIALS_REFUSED
        item.session.shouldstop = "LUCS refused the credentials; stopping (see the first failure)"
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_step_error(request: pytest.FixtureRequest) -> None:
    """Attach the last response to the failing step: the report shows what the check judged."""
    world = request.node.stash.get(WORLD_KEY, None)
    last = world.client.last_exchange if world is not None else None
    if world is not None and last is not None and request.config.getoption("allure_report_dir", None):
        redactor = Redactor(world.config.secrets(), [world.config.api_key_header])
        allure_listener(redactor, prefix="last response: ")(last)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Before any scenario (and before xdist starts workers): a real LUCS must answer and take the
    credentials, or the run stops with one line and its own exit code."""
    config = session.config
    lucs = config.stash[CONFIG_KEY]
    if lucs.base_url is None or lucs.dry_run or hasattr(config, "workerinput"):
        return
    client = LucsClient(lucs, lucs.base_url)
    try:
        client.send("list_users", {"serviceId": lucs.service_id}, expect=range(100, 600))
    except CredentialsRefused as refused:
        pytest.exit(f"LUCS refused the credentials: {refused}", returncode=EXIT_CREDENTIALS_REFUSED)
    except Unreachable as error:
        pytest.exit(f"LUCS cannot be reached: {error}", returncode=EXIT_UNREACHABLE)
    except AssertionError:
        pass  # reached, and it answered: what is wrong with the answer, the scenarios will say
    finally:
        client.close()


def _check_pool_size(config: pytest.Config, lucs: LucsConfig) -> None:
    """Against a shared LUCS every xdist worker needs an agent of its own: refuse a run that can't."""
    workers = config.getoption("numprocesses", None) if not hasattr(config, "workerinput") else None
    if lucs.is_mock or not isinstance(workers, int) or workers <= len(lucs.agent_pool()):
        return
    raise pytest.UsageError(
        f"{workers} xdist workers need {workers} agents, but the agent pool has {len(lucs.agent_pool())} "
        f"({', '.join(lucs.agent_pool())}); list more with --lucs-agents or run fewer workers"
    )


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so teardown (and with it every restore) still runs."""
    if threading.current_thread() is threading.main_thread():

        def interrupt(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, interrupt)


class _XdistRelay:
    """Carries each worker's unrestored changes to the controller, which prints them."""

    def __init__(self, run: RunState) -> None:
        self.run = run

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", {})
        self.run.not_restored.extend(output.get("lucs_not_restored", []))
        self.run.dry_run.extend((name, lines) for name, lines in output.get("lucs_dry_run", []))
        self.run.exit_code = self.run.exit_code or output.get("lucs_exit_code")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Restore what an interrupted scenario left open; write Allure's run files (controller only)."""
    config = session.config
    run = config.stash[RUN_KEY]
    for registry in list(run.live):
        run.not_restored.extend(registry.restore_all())
    run.live.clear()
    if hasattr(config, "workerinput"):
        config.workeroutput["lucs_not_restored"] = run.not_restored  # type: ignore[attr-defined]
        config.workeroutput["lucs_dry_run"] = run.dry_run  # type: ignore[attr-defined]
        config.workeroutput["lucs_exit_code"] = run.exit_code  # type: ignore[attr-defined]
        return
    if run.exit_code is not None:
        session.exitstatus = run.exit_code  # the run's own verdict: refused credentials, no free agent
    results = config.getoption("allure_report_dir", None)
    if results:
        write_run_files(Path(results), config.stash[CONFIG_KEY], config.getoption("--lucs-profile"), run.not_restored)


def pytest_unconfigure(config: pytest.Config) -> None:
    """After every report is written: mask any configured secret that slipped into one."""
    if CONFIG_KEY not in config.stash or hasattr(config, "workerinput"):
        return
    outputs = [config.getoption(name, None) for name in ("allure_report_dir", "xmlpath", "cucumber_json_path")]
    scrub_files([Path(p) for p in outputs if p and Path(p).exists()], config.stash[CONFIG_KEY].secrets())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    run, lucs = terminalreporter.config.stash[RUN_KEY], terminalreporter.config.stash[CONFIG_KEY]
    if lucs.dry_run:
        target = Redactor(lucs.secrets()).url(lucs.base_url or "")
        terminalreporter.section(f"LUCS DRY RUN: requests each scenario would send (none was sent to {target})")
        for name, lines in sorted(run.dry_run):
            terminalreporter.write_line(name)
            for line in lines:
                terminalreporter.write_line(f"    {line}")
    failures = run.not_restored
    if failures:
        terminalreporter.section("LUCS STATE NOT RESTORED", sep="!", red=True, bold=True)
        for line in failures:
            terminalreporter.write_line(line, red=True)
