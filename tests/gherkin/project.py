"""A QA team's pytest-bdd project in miniature, for `pytester`: the harness opted in, the shipped
steps, and steps of its own that only note that they ran (a scenario that sends nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = """
from pathlib import Path

from pytest_bdd import given, parsers, then, when

pytest_plugins = ["lucs_harness.plugin"]


def note(what):
    with Path(__file__).with_name("ran.log").open("a") as log:
        log.write(what + "\\n")


@given(parsers.parse('"{name}" is noted'))
@when(parsers.parse('I note "{name}"'))
@then(parsers.parse('"{name}" is noted'))
def noted(name):
    note(name)


@then("LUCS is found wrong")
def wrong():
    raise AssertionError("a LUCS defect")
"""
# the dev tools' plugins cost start-up and no project here uses them; the harness and its steps were
# imported before the run (see conftest.py), so pytest cannot rewrite their asserts, and says so
INI = """\
[pytest]
addopts = -p no:schemathesis -p no:anyio -p no:hypothesispytest
filterwarnings = ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning
"""
BINDING = 'from pytest_bdd import scenarios\n\nscenarios("features")\n'


def make_project(folder: Path, features: dict[str, str]) -> None:
    """The project in `folder`: `features/<name>.feature` for each of `features`, bound by one module."""
    (folder / "pytest.ini").write_text(INI)
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_features.py").write_text(BINDING)
    (folder / "features").mkdir()
    for name, text in features.items():
        (folder / "features" / f"{name}.feature").write_text(text)


def ran(folder: Path) -> list[str]:
    """What the project's own steps noted, in order."""
    log = folder / "ran.log"
    return log.read_text().splitlines() if log.exists() else []


def line_of(text: str, words: str) -> int:
    """The line (from 1) of a feature's text that holds `words`: tests name lines as QA sees them."""
    return next(number for number, line in enumerate(text.splitlines(), 1) if words in line)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(*args)
