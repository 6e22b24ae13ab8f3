"""The harness as a QA team uses it: built as a wheel, installed, and run from a project of the
team's own (its features, one step of its own) with the shipped step library and reports."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.suite import child_env

FEATURE = """\
Feature: Our agents
  @regression @severity:critical
  Scenario: Our target user is ready for the day
    Given the target user is selectable in the service
    When I list the users of the service
    Then the list contains the target user with:
      | field         | value  |
      | PresenceState | Online |
    And the service lists at least 3 users

  Scenario: Our service is listed
    When I list the services
    Then the configured service is among them
"""

BINDING = 'from pytest_bdd import scenarios\n\nscenarios("../features")\n'

OWN_STEPS = '''\
"""The team's own step, beside the shipped ones."""

from pathlib import Path

import lucs_harness
from pytest_bdd import parsers, then

pytest_plugins = ["lucs_harness.plugin"]


@then(parsers.parse("the service lists at least {count:d} users"))
def at_least(world, count: int) -> None:
    assert Path(lucs_harness.__file__).is_relative_to(Path(__file__).parent / "site"), lucs_harness.__file__
    assert len(world.users.listed) >= count, world.users.listed
'''


def run_in(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in `folder`, as the team runs it there."""
    command = [sys.executable, *args]
    return subprocess.run(command, cwd=folder, env=child_env(**env), capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def project(installed: Path) -> Path:
    """A team's project: its feature, its binding, its own step."""
    project = installed.parent
    (project / "features").mkdir()
    (project / "features" / "agents.feature").write_text(FEATURE)
    (project / "tests").mkdir()
    (project / "tests" / "test_features.py").write_text(
        'from pytest_bdd import scenarios\n\nscenarios("../features")\n'
    )
    (project / "conftest.py").write_text(OWN_STEPS)
    return project


def test_a_teams_project_runs_the_shipped_steps_and_its_own_with_reports(project: Path, installed: Path) -> None:
    done = run_in(
        project, "-m", "lucs_harness.cli", "--no-html", "--tags", "@severity:critical", PYTHONPATH=str(installed)
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    reports = project / "reports"
    suite = ET.parse(reports / "junit.xml").getroot()
    assert [case.get("name") for case in suite.iter("testcase")] == ["test_our_target_user_is_ready_for_the_day"]
    [feature] = json.loads((reports / "cucumber.json").read_text())
    steps = feature["elements"][0]["steps"]
    assert [step["result"]["status"] for step in steps] == ["passed"] * 4
    assert any((reports / "allure-results").glob("*-result.json"))
    assert "1 passed, 0 failed" in done.stdout


def test_a_teams_project_gets_the_html_report_and_the_gate_once_allure_is_installed(
    project: Path, installed: Path, tmp_path: Path
) -> None:
    """No checkout, no `make install`: `lucs-acceptance install-allure` puts the pinned Allure in
    the user's cache. npm installs offline here, from its own cache that `make`'s `npm ci` filled."""
    env = {"PYTHONPATH": str(installed), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    suite = ["-m", "lucs_harness.cli", "--tags", "@severity:critical", "--no-history"]
    before = run_in(project, *suite, f"--reports-dir={tmp_path / 'before'}", **env)
    assert before.returncode == 12, before.stdout[-3000:] + before.stderr[-3000:]
    assert "run `lucs-acceptance install-allure`" in before.stdout + before.stderr
    done = run_in(project, "-m", "lucs_harness.cli", "install-allure", npm_config_offline="true", **env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Allure 3 installed" in done.stdout
    gated = run_in(project, *suite, f"--reports-dir={tmp_path / 'after'}", "--lucs-quality-gate-min-scenarios=2", **env)
    assert gated.returncode == 14, gated.stdout[-3000:] + gated.stderr[-3000:]  # 1 scenario of the 2 the gate wants
    assert (tmp_path / "after" / "report.html").stat().st_size > 100_000


OTHER_FEATURE = """\
Feature: Another team's product
  Scenario: Services
    When I list the services
"""

OTHER_CONFTEST = """\
import signal

def pytest_addoption(parser):
    parser.addoption("--tags", default=None)

def pytest_configure(config):
    config.handlers_before = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM)}

def pytest_unconfigure(config):
    changed = [s for s, h in config.handlers_before.items() if signal.getsignal(s) is not h]
    assert not changed, changed
"""


def test_installed_it_changes_no_other_project(installed: Path, tmp_path: Path) -> None:
    """Another team's pytest-bdd project in an environment where the harness is installed runs as
    without it: its undefined step is undefined, its own --tags option is its own, --strict-markers
    catches a mistyped marker, no signal handler is taken, no LUCS is contacted, its junit.xml holds
    its own tests only."""
    project = tmp_path / "other"
    (project / "features").mkdir(parents=True)
    (project / "features" / "product.feature").write_text(OTHER_FEATURE)
    (project / "test_product.py").write_text('from pytest_bdd import scenarios\n\nscenarios("features")\n')
    (project / "test_marked.py").write_text("import pytest\n\n@pytest.mark.smoek\ndef test_x():\n    pass\n")
    (project / "conftest.py").write_text(OTHER_CONFTEST)
    env = {"PYTHONPATH": str(installed), "LUCS_BASE_URL": "http://127.0.0.1:9", "LUCS_READ_TIMEOUT": "soon"}
    args = ["-m", "pytest", "-p", "no:cacheprovider", "-n", "1", "--tags", "ours", f"--junitxml={tmp_path / 'j.xml'}"]
    done = run_in(project, *args, "test_product.py", **env)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "StepDefinitionNotFoundError" in done.stdout
    assert "lucs" not in (tmp_path / "j.xml").read_text()
    marked = run_in(project, "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers", "test_marked.py", **env)
    assert marked.returncode == 2, marked.stdout[-3000:]  # 'smoek' not found in markers
    helped = run_in(project, "-m", "pytest", "--help", **env)
    assert "--lucs-" not in helped.stdout


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_an_opted_in_project_runs_its_other_tests_without_contacting_lucs(tmp_path: Path, workers: list[str]) -> None:
    """A project that opted in runs only its other tests: no call, even with a base URL nobody
    answers at (a call would end the run with 10), under xdist too (its controller prepares a real
    target only when a worker's selection holds a scenario)."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["lucs_harness.plugin"]\n')
    (tmp_path / "test_other.py").write_text("def test_plain() -> None:\n    assert True\n")
    pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", *workers]
    done = run_in(tmp_path, *pytest_args, LUCS_BASE_URL="http://127.0.0.1:9")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout


def test_any_gherkin_tag_selects_with_m_under_strict_markers(project: Path, installed: Path) -> None:
    """`@regression` is registered nowhere: the plugin makes every Gherkin tag a marker."""
    pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", "-m", "regression", "tests"]
    done = run_in(project, *pytest_args, PYTHONPATH=str(installed))
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed, 1 deselected" in done.stdout


def test_nothing_of_the_mock_is_loaded_with_the_plugin() -> None:
    """Against a real target the mock's code (uvicorn, starlette) is never imported."""
    probe = (
        "import sys, lucs_harness.plugin.hooks, lucs_harness.plugin.fixtures, lucs_harness.world; "
        "print(sorted(m for m in sys.modules if m.startswith(('lucs_harness.mock', 'uvicorn', 'starlette'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
