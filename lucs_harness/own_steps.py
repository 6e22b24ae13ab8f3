"""A project's own steps, found as pytest finds them: its collection runs in this process, in the
project's folder, with the harness's plugin (as `lucs-acceptance` runs it), so the root conftest,
its `pytest_plugins`, nested conftests and test modules register their steps with pytest-bdd, and
the registry is read before pytest lets go of them. Nothing runs: no scenario, no call to LUCS."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

from lucs_harness.wrapper import PLUGIN, UNUSED_PLUGINS

COLLECTED = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
SHOWN_LINES = 30  # of pytest's output when the collection failed: the error, not the whole log


@dataclass
class Collected:
    """The step contexts registered while the project was collected, and what went wrong if anything."""

    contexts: list[StepFunctionContext] = field(default_factory=list)
    problem: str | None = None


class _Recorder:
    """A pytest plugin that takes the registry once everything is collected."""

    def __init__(self, found: Collected) -> None:
        self.found = found

    def pytest_collection_finish(self) -> None:
        self.found.contexts = list(step_function_context_registry.values())


def collect() -> Collected:
    """Collect the project in the current folder, what a run there would collect (its testpaths),
    and return the registered steps; pytest's own output is kept back and shown only on failure."""
    found = Collected()
    blocked = [option for name in UNUSED_PLUGINS for option in ("-p", f"no:{name}")]
    args = ["-p", PLUGIN, *blocked, "-p", "no:cacheprovider", "--collect-only", "-q"]
    output = io.StringIO()
    with redirect_stdout(output), redirect_stderr(output):
        code = pytest.main(args, plugins=[_Recorder(found)])
    if code not in COLLECTED:
        tail = "\n".join(output.getvalue().rstrip().splitlines()[-SHOWN_LINES:])
        found.problem = f"pytest could not collect {Path.cwd()} (exit {int(code)}):\n{tail}"
    return found
