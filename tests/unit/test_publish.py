"""The wrapper's reports folder and verdicts: only its own files are removed, every early exit
leaves a report that says why, and the summary line counts each scenario once, as it ended."""

from __future__ import annotations

import json
import signal
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lucs_harness.errors import ReportsFolderError
from lucs_harness.interrupts import SAME_REQUEST_SECONDS
from lucs_harness.reporting.publish import MANIFEST, prepare, remove_written
from lucs_harness.reporting.summary import Tally, judged, summary_line
from lucs_harness.reporting.verdict import ENDED_EARLY, RUN_CLASS, ReportPaths, annotate, junit_name
from lucs_harness.wrapper import Forwarder

CLASS = "tests.acceptance.test_features"
CHANGES = "changes not allowed on this target (--lucs-allow-changes)"


def test_the_reports_folder_loses_only_what_an_earlier_run_wrote(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "screenshots").mkdir()
    prepare(tmp_path)
    (tmp_path / "junit.xml").write_text("<testsuites/>")
    (tmp_path / "allure-results").mkdir()
    (tmp_path / "allure-results" / "x-result.json").write_text("{}")
    prepare(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "notes.txt", "screenshots"]


def test_make_clean_removes_the_runs_reports_and_nothing_of_the_users(tmp_path: Path) -> None:
    prepare(tmp_path)
    (tmp_path / "junit.xml").write_text("<testsuites/>")
    (tmp_path / "allure-results").mkdir()
    (tmp_path / "README.md").write_text("the team's notes")
    remove_written(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    remove_written(tmp_path)  # nothing written: nothing removed, no error


def test_a_file_of_the_same_name_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text("the user's own")
    with pytest.raises(ReportsFolderError, match=r"junit.xml, not written by lucs-acceptance"):
        prepare(tmp_path)
    assert (tmp_path / "junit.xml").read_text() == "the user's own"


def test_an_early_exit_gets_an_entry_in_each_report(tmp_path: Path) -> None:
    paths = ReportPaths(tmp_path / "junit.xml", tmp_path / "cucumber.json", tmp_path / "allure")
    annotate(paths, (10, "LUCS could not be reached: timed out"), {})
    error = ET.parse(tmp_path / "junit.xml").getroot().find(".//error")
    assert error is not None
    assert error.get("message") == "exit 10: LUCS could not be reached: timed out"
    [feature] = json.loads((tmp_path / "cucumber.json").read_text())
    assert "timed out" in feature["elements"][0]["steps"][0]["result"]["error_message"]
    [result] = [json.loads(p.read_text()) for p in (tmp_path / "allure").glob("*-result.json")]
    assert result["status"] == "broken"
    assert Tally.of(tmp_path / "junit.xml") == Tally(0, 0, {}, {})  # the verdict is not a scenario


def test_an_entry_is_added_to_a_junit_file_pytest_wrote(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest" tests="1" errors="0" failures="1" skipped="0">'
        '<testcase classname="a" name="b"><failure message="x"/></testcase></testsuite></testsuites>'
    )
    annotate(ReportPaths(junit), (2, "run interrupted by SIGINT"), {"lucs.dry_run": "true"})
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("errors")) == ("2", "1")
    assert Tally.of(junit) == Tally(0, 1, {}, {"lucs.dry_run": "true"})


def junit_of(tmp_path: Path, *cases: str) -> Path:
    junit = tmp_path / "junit.xml"
    tests = sum("name=" in c for c in cases)  # pytest does not count the nameless case it leaves
    junit.write_text(f'<testsuites><testsuite name="pytest" tests="{tests}">{"".join(cases)}</testsuite></testsuites>')
    return junit


def case(name: str, inner: str = "") -> str:
    return f'<testcase classname="{CLASS}" name="{name}" time="0.1">{inner}</testcase>'


def test_each_scenario_counts_once_and_an_error_in_its_restore_fails_it(tmp_path: Path) -> None:
    """pytest's "1 failed, 2 passed, 2 errors, 3 skipped" (a passed and a failed scenario whose
    restore errored): the harness's 1 passed, 2 failed (2 errors), 3 not run by why."""
    junit = junit_of(
        tmp_path,
        case("steps_failed_and_restore_errored", '<failure message="step"/>'),
        case("steps_failed_and_restore_errored", '<error message="failed on teardown"/>'),  # pytest's second case
        case("passed_but_restore_errored", '<error message="failed on teardown"/>'),
        case("passed"),
        case("changes_1", f'<skipped type="pytest.skip" message="{CHANGES}"/>'),
        case("changes_2", f'<skipped type="pytest.skip" message="{CHANGES}"/>'),
        case("clock", """<skipped type="pytest.skip" message="mock-only (needs the mock's clock)"/>"""),
        '<testcase time="0.000" />',  # nameless: no scenario
        f'<testcase classname="{RUN_CLASS}" name="run"><error message="exit 2: interrupted"/></testcase>',
    )
    tally = Tally.of(junit)
    assert (tally.passed, tally.failed, tally.errors) == (1, 2, 2)
    assert tally.not_run == {CHANGES: 2, "mock-only (needs the mock's clock)": 1}
    line = summary_line(1, tally, {})
    assert line == (
        f"LUCS acceptance: 1 passed, 2 failed (2 errors), 2 not run: {CHANGES}, "
        "1 not run: mock-only (needs the mock's clock) -> exit 1 (some scenarios failed); reports: none"
    )


@pytest.mark.parametrize(
    ("code", "tally", "expected"),
    [
        (0, Tally(3, 0, {}, {}), (0, None)),
        (0, Tally(3, 0, {CHANGES: 2}, {}), (0, "the scenarios that ran passed")),
        (0, Tally(0, 0, {CHANGES: 2}, {}), (5, "no scenario ran")),
        (0, Tally(0, 0, {}, {}), (0, "nothing to run")),  # a shard whose share is empty
        (1, Tally(0, 1, {CHANGES: 2}, {}), (1, None)),
        (10, Tally(0, 0, {ENDED_EARLY: 39}, {}), (10, None)),
    ],
)
def test_a_pass_needs_a_scenario_that_ran(code: int, tally: Tally, expected: tuple[int, str | None]) -> None:
    assert judged(code, tally) == expected


def test_a_run_that_ended_early_accounts_for_every_selected_scenario_and_leaves_no_nameless_case(
    tmp_path: Path,
) -> None:
    """pytest's JUnit writer leaves `<testcase time="0.000" />` for a scenario whose setup passed when
    pytest.exit came inside it: it goes, and each selected scenario without a case is not run."""
    junit = junit_of(tmp_path, case("test_first"), '<testcase time="0.000" />')
    nodeids = [f"tests/acceptance/test_features.py::{name}" for name in ("test_first", "test_second", "test_x[a-1]")]
    selected = [junit_name(nodeid) for nodeid in nodeids]
    annotate(ReportPaths(junit), (10, "LUCS could not be reached"), {}, selected)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert all(c.get("name") for c in suite.iter("testcase"))
    assert [c.get("name") for c in suite.iter("testcase")] == ["test_first", "test_second", "test_x[a-1]", "run"]
    assert (suite.get("tests"), suite.get("skipped"), suite.get("errors")) == ("4", "2", "1")
    assert Tally.of(junit) == Tally(1, 0, {ENDED_EARLY: 2}, {})
    assert junit_name(nodeids[0], "team") == ("team.tests.acceptance.test_features", "test_first")


def test_signals_within_a_second_are_one_stop_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """GNU timeout signals the wrapper, then its own process group (the wrapper too): one request.
    A signal after the window is the user's second: it cuts the restore short."""
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    forwarder = Forwarder()
    forwarder(signal.SIGTERM, None)
    now[0] += 0.01
    forwarder(signal.SIGTERM, None)
    now[0] += SAME_REQUEST_SECONDS / 2
    forwarder(signal.SIGINT, None)
    assert forwarder.count == 1
    now[0] += SAME_REQUEST_SECONDS
    forwarder(signal.SIGINT, None)
    assert forwarder.count == 2
