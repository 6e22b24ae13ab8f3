"""Opt-in retries of a failed scenario (`--lucs-reruns N`, `LUCS_RERUNS`, or `reruns` in the
config file; none by default, against the mock or a real LUCS), done by pytest-rerunfailures.

A retry starts afresh: the scenario's fixtures are torn down between tries, so what the failed try
changed is restored before the next begins. The reports keep the last try (Allure keeps the
earlier ones as its retries). A scenario that passes on a retry is flaky: counted in
the summary line and marked flaky in its Allure result. What ends the run is never retried: an
interrupt, refused credentials, a target that stopped answering, an agent pool with no one free;
nor is a scenario with an undefined step.
"""

from __future__ import annotations

import pytest
from pytest_bdd.reporting import test_report_context_registry

from lucs_harness.errors import CredentialsRefused, PoolExhausted, RunInterrupted, UndefinedSteps, Unreachable
from lucs_harness.plugin.session import CONFIG_KEY, RUN_KEY, RunState, is_worker

# what ends the run, and a scenario with an undefined step: no retry can pass it
NEVER_RETRIED: tuple[type[BaseException], ...] = (
    RunInterrupted,
    CredentialsRefused,
    Unreachable,
    PoolExhausted,
    UndefinedSteps,
)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Hand the configured count to pytest-rerunfailures (the hooks' configure has read it)."""
    lucs = config.stash.get(CONFIG_KEY, None)
    if lucs is None or not lucs.reruns:
        return
    config.option.reruns = lucs.reruns
    config.option.rerun_except = [*(config.getoption("rerun_except", None) or []), *NEVER_RETRIED]
    if not is_worker(config):
        config.pluginmanager.register(TryRecorder(config.stash[RUN_KEY]), "lucs-try-recorder")


class TryRecorder:
    """Notes how each retried try failed, and each scenario that passed on a retry (on an xdist
    controller, from the workers' reports), for the reports and the summary line."""

    def __init__(self, run: RunState) -> None:
        self.run = run

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if _outcome(report) == "rerun":
            self.run.failed_tries.setdefault(report.nodeid, []).append(report.longreprtext)
        elif report.when == "call" and report.passed and getattr(report, "rerun", None):
            self.run.flaky.append(report.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """The Cucumber JSON holds a scenario once, as its last try ended: an earlier try is not a scenario's
    result (pytest-bdd's writer knows no `rerun` outcome)."""
    if _outcome(report) == "rerun":
        test_report_context_registry.pop(report, None)


def _outcome(report: pytest.TestReport) -> str:
    """pytest-rerunfailures adds the outcome `rerun`, which pytest's types do not list."""
    return str(report.outcome)
