"""pytest wiring: `--lucs-*` options, the effective configuration, the target (embedded mock or a
real LUCS), the client, the restore registry and each scenario's `world`."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lucs_harness.client import CredentialsRefused, LucsClient, Unreachable
from lucs_harness.config import ConfigError, LucsConfig, load_config
from lucs_harness.mock.control import MockControl
from lucs_harness.mock.faults import Fault, UnknownFault, parse_faults
from lucs_harness.mock.server import MockServer
from lucs_harness.reporting.allure_results import write_run_files
from lucs_harness.reporting.exchanges import allure_listener, logging_listener
from lucs_harness.reporting.redact import Redactor, scrub_files
from lucs_harness.restore import RestoreRegistry
from lucs_harness.world import World

EXIT_UNREACHABLE = 10
EXIT_CREDENTIALS_REFUSED = 11
CONFIG_KEY = pytest.StashKey[LucsConfig]()
RESTORE_KEY = pytest.StashKey[RestoreRegistry]()
FAULTS_KEY = pytest.StashKey[frozenset[Fault]]()
WORLD_KEY = pytest.StashKey[World]()


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
    config.stash[RESTORE_KEY] = RestoreRegistry()
    if config.getoption("--lucs-show-config"):
        print(json.dumps(lucs.masked(), indent=2))
        pytest.exit("effective LUCS configuration shown", returncode=0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a real LUCS, state-changing scenarios need an explicit `--lucs-allow-changes`."""
    lucs = config.stash[CONFIG_KEY]
    if lucs.is_mock or lucs.allow_changes:
        return
    skip = pytest.mark.skip(reason="changes the state of a real LUCS; pass --lucs-allow-changes to run it")
    for item in items:
        if item.get_closest_marker("changes-state"):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A 401 in any scenario stops the run: every later call would be refused too."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(CredentialsRefused):
        item.session.shouldstop = "LUCS refused the credentials; stopping (see the first failure)"
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_step_error(request: pytest.FixtureRequest) -> None:
    """Attach the last response to the failing step: the report shows what the check judged."""
    world = request.node.stash.get(WORLD_KEY, None)
    if world is not None and world.last is not None and request.config.getoption("allure_report_dir", None):
        redactor = Redactor(world.config.secrets(), [world.config.api_key_header])
        allure_listener(redactor, prefix="last response: ")(world.last)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Allure's environment and categories, written once by the controller (not by xdist workers)."""
    results = session.config.getoption("allure_report_dir", None)
    if results and not hasattr(session.config, "workerinput"):
        write_run_files(Path(results), session.config.stash[CONFIG_KEY], session.config.getoption("--lucs-profile"))


def pytest_unconfigure(config: pytest.Config) -> None:
    """After every report is written: mask any configured secret that slipped into one."""
    if CONFIG_KEY not in config.stash or hasattr(config, "workerinput"):
        return
    outputs = [config.getoption(name, None) for name in ("allure_report_dir", "xmlpath", "cucumber_json_path")]
    scrub_files([Path(p) for p in outputs if p and Path(p).exists()], config.stash[CONFIG_KEY].secrets())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    failures = terminalreporter.config.stash[RESTORE_KEY].failures
    if failures:
        terminalreporter.section("LUCS STATE NOT RESTORED", sep="!", red=True, bold=True)
        for line in failures:
            terminalreporter.write_line(line, red=True)


@dataclass
class Target:
    """Where the suite sends requests, and the mock's control client when it is the mock."""

    base_url: str
    control: MockControl | None


@pytest.fixture(scope="session")
def lucs_config(pytestconfig: pytest.Config) -> LucsConfig:
    """The effective configuration."""
    return pytestconfig.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def lucs_target(lucs_config: LucsConfig, pytestconfig: pytest.Config) -> Iterator[Target]:
    """A real LUCS when a base URL is configured, else a mock started for this session (or worker)."""
    if lucs_config.base_url is not None:
        yield Target(lucs_config.base_url, None)
        return
    with MockServer(faults=pytestconfig.stash[FAULTS_KEY]) as mock:
        yield Target(mock.base_url, MockControl(mock.base_url))


@pytest.fixture(scope="session")
def lucs_client(lucs_config: LucsConfig, lucs_target: Target, pytestconfig: pytest.Config) -> Iterator[LucsClient]:
    """The session's client; its first call proves the target answers and takes the credentials."""
    client = LucsClient(lucs_config, lucs_target.base_url)
    redactor = Redactor(lucs_config.secrets(), [lucs_config.api_key_header])
    client.listeners.append(logging_listener(redactor))
    if pytestconfig.getoption("allure_report_dir", None):
        client.listeners.append(allure_listener(redactor))
    try:
        client.send("list_users", {"serviceId": lucs_config.service_id}, expect=range(100, 600))
    except CredentialsRefused as refused:
        pytest.exit(f"LUCS refused the credentials: {refused}", returncode=EXIT_CREDENTIALS_REFUSED)
    except Unreachable as error:
        pytest.exit(f"LUCS cannot be reached: {error}", returncode=EXIT_UNREACHABLE)
    yield client
    client.close()


@pytest.fixture
def restore(pytestconfig: pytest.Config) -> Iterator[RestoreRegistry]:
    """This scenario's undo list, run at teardown whatever the outcome; failures go to the summary."""
    registry = RestoreRegistry()
    yield registry
    registry.restore_all()
    pytestconfig.stash[RESTORE_KEY].failures.extend(registry.failures)


@pytest.fixture
def world(
    request: pytest.FixtureRequest,
    lucs_config: LucsConfig,
    lucs_target: Target,
    lucs_client: LucsClient,
    restore: RestoreRegistry,
) -> World:
    """A fresh scenario world; on the mock, the mock's state is reset to the seed first."""
    if lucs_target.control is not None:
        lucs_target.control.reset()
    world = World(config=lucs_config, client=lucs_client, restore=restore, target_ref=lucs_config.user)
    request.node.stash[WORLD_KEY] = world
    return world
