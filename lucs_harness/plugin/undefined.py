"""Undefined steps as behave treats them: a scenario with a step no definition matches fails before
its first step (nothing of it is sent to LUCS), naming every such step with its feature file and
line, the closest defined steps and a definition to paste. A run whose every failure is such a
scenario ends with exit 16 (undefined steps), so a CI gate tells a suite's typo from a LUCS
defect; with real failures too it stays 1. `--lucs-dry-run` lists every undefined step of the
selection, once each, before any scenario runs."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import asdict

import pytest
from pytest_bdd.parser import Feature, Scenario
from pytest_bdd.reporting import StepReport, scenario_reports_registry

from lucs_harness.dry_run import undefined_section
from lucs_harness.errors import UndefinedSteps
from lucs_harness.exit_codes import FAILED, UNDEFINED_STEPS
from lucs_harness.plugin.definitions import feature_path, undefined_steps
from lucs_harness.plugin.session import CONFIG_KEY
from lucs_harness.undefined import UndefinedStep, scenario_failure

UNDEFINED_KEY = pytest.StashKey[list[UndefinedStep]]()
REPORT_FIELD = "lucs_undefined"  # on a failed report: its undefined steps (JSON, through xdist too)


def undefined_of(item: pytest.Item) -> list[UndefinedStep]:
    """The item's undefined steps, found once."""
    if UNDEFINED_KEY not in item.stash:
        item.stash[UNDEFINED_KEY] = undefined_steps(item)
    return item.stash[UNDEFINED_KEY]


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the process that sees every report (an xdist controller)
        config.pluginmanager.register(UndefinedVerdict(config), "lucs-undefined-verdict")


@pytest.hookimpl(wrapper=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Feature, scenario: Scenario) -> Generator[None]:
    """After every other plugin opened the scenario (so its reports hold it), stop it before its
    first step when any of its steps is undefined."""
    result = yield
    steps = undefined_of(request.node)
    if steps:
        _steps_not_run(request.node, scenario)
        where = f"{feature_path(request.config, feature.filename)}:{scenario.line_number}"
        raise UndefinedSteps(scenario_failure(where, scenario.keyword, scenario.name, steps), steps)
    return result


def _steps_not_run(item: pytest.Item, scenario: Scenario) -> None:
    """pytest-bdd's Cucumber JSON leaves out a scenario without step results: its steps are
    marked failed, as pytest-bdd marks the steps after a failed one."""
    report = scenario_reports_registry.get(item)
    if report is not None and scenario.steps:
        report.add_step_report(StepReport(step=scenario.steps[0]))
        report.fail()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """The failure reads as the scenario's message alone (a traceback would show the plugin, not the
    feature), and the report carries the steps for the run's verdict."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(UndefinedSteps):
        error = call.excinfo.value
        assert isinstance(error, UndefinedSteps)
        report.longrepr = str(error)
        setattr(report, REPORT_FIELD, [asdict(step) for step in error.steps])
    return report


def pytest_collection_finish(session: pytest.Session) -> None:
    """In a dry run, every undefined step of the selection, before any scenario runs."""
    config = session.config
    lucs = config.stash.get(CONFIG_KEY, None)
    if lucs is None or not lucs.dry_run or hasattr(config, "workerinput") or not session.items:
        return
    steps = [step for item in session.items for step in undefined_of(item)]
    verdict = config.pluginmanager.getplugin("lucs-undefined-verdict")
    if isinstance(verdict, UndefinedVerdict):
        verdict.listed = True
    _write_section(config, steps)


def _write_section(config: pytest.Config, steps: list[UndefinedStep]) -> None:
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is None or not steps:
        return
    title, *lines = undefined_section(steps)
    reporter.section(title, sep="!", yellow=True, bold=True)
    for line in lines:
        reporter.write_line(line)


class UndefinedVerdict:
    """Sees every scenario's report: exit 16 when each failed scenario failed for undefined steps;
    under xdist, a dry run's listing at the end (the controller collects no scenario itself)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.failed: set[str] = set()
        self.undefined: dict[str, list[UndefinedStep]] = {}
        self.listed = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed.add(report.nodeid)
        steps = getattr(report, REPORT_FIELD, None)
        if steps:
            self.undefined[report.nodeid] = [UndefinedStep.of(step) for step in steps]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if session.exitstatus == FAILED and self.undefined and self.failed <= set(self.undefined):
            session.exitstatus = UNDEFINED_STEPS

    def pytest_terminal_summary(self) -> None:
        lucs = self.config.stash.get(CONFIG_KEY, None)
        if lucs is not None and lucs.dry_run and not self.listed:
            _write_section(self.config, [step for steps in self.undefined.values() for step in steps])
