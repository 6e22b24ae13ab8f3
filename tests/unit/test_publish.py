"""The wrapper's reports folder and verdicts: only its own files are removed, and every early exit
leaves a report that says why."""

from __future__ import annotations

import json
import signal
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lucs_harness.interrupts import SAME_REQUEST_SECONDS
from lucs_harness.reporting.publish import MANIFEST, Forwarder, ReportsFolderError, Tally, prepare, remove_written
from lucs_harness.reporting.verdict import ReportPaths, annotate


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
    assert Tally.of(tmp_path / "junit.xml") == Tally(0, 0, 0, {})  # the verdict is not a scenario


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
    assert Tally.of(junit) == Tally(0, 1, 0, {"lucs.dry_run": "true"})


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
