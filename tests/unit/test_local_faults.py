"""Local faults end cleanly, in-process: a restore journal that stops taking writes (a file-size
limit: EFBIG, as a full disk gives ENOSPC), reports written whole or not at all, a page Allure cut
short, a folder that cannot be created. The runs against `lucs-mock serve` are in
tests/realtarget/test_local_faults.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lucs_harness.coordination.files import Journal, read_journal
from lucs_harness.errors import JournalUnwritable, ReportError, RunInterrupted
from lucs_harness.exit_codes import FAILED, PASSED, REPORT_FAILED
from lucs_harness.journal import Seal, Undo
from lucs_harness.leftovers import harness_id
from lucs_harness.reporting import publish, summary
from lucs_harness.reporting.faults import ALLURE, CUCUMBER, JUNIT, ReportFaults, cannot_write, write_whole
from lucs_harness.reporting.html import whole_page
from lucs_harness.reporting.options import Publishing
from lucs_harness.reporting.verdict import ReportPaths, annotate
from lucs_harness.restore import CUT_SHORT, RestoreRegistry
from tests.support.faults import file_size_limit, uncreatable
from tests.support.journals import SMOKY_CC, SMOKY_DD

EFBIG = "[Errno 27] File too large"
SEAL = Seal(b"k" * 32, "0123456789abcdef")


def journaled(tmp_path: Path) -> tuple[RestoreRegistry, list[str], Journal]:
    """A registry whose undos are journaled in `tmp_path`, and the list of undos it performed."""
    done: list[str] = []
    journal = Journal(tmp_path / "journal", SEAL)
    return RestoreRegistry(lambda undo, _: done.append(undo.description), journal), done, journal


def test_a_change_whose_undo_cannot_be_journaled_fails_its_step_in_one_line_and_is_not_undone(tmp_path: Path) -> None:
    registry, done, journal = journaled(tmp_path)
    registry.register("unblock agent", "unblock_user", {"userId": SMOKY_CC})
    with file_size_limit(journal.path.stat().st_size), pytest.raises(JournalUnwritable) as refused:
        registry.register("close task T", "close_task", {"taskIdentifier": harness_id()})
    message = str(refused.value)
    assert isinstance(refused.value, AssertionError)  # read like any failed step
    journal_text = f"could not be written to the restore journal {journal.path}: {EFBIG}"
    assert message == f"change not sent: its undo (close task T) {journal_text}"
    assert [undo.description for undo in registry.pending] == ["unblock agent"]  # nothing sent, nothing to undo
    assert registry.restore_all() == []
    assert done == ["unblock agent"]


def test_done_marks_that_cannot_be_written_skip_no_undo_and_stay_open_for_the_next_run(tmp_path: Path) -> None:
    registry, done, journal = journaled(tmp_path)
    undos = [
        registry.register("unblock A", "unblock_user", {"userId": SMOKY_CC}),
        registry.register("unblock B", "unblock_user", {"userId": SMOKY_DD}),
        registry.register("close task", "close_task", {"taskIdentifier": harness_id()}),
    ]
    with file_size_limit(journal.path.stat().st_size):
        failed = registry.restore_all()
        left = [undo.id for undo in read_journal(journal.path, SEAL).undos]
    assert failed == []
    assert done == ["close task", "unblock B", "unblock A"]
    assert left == [undo.id for undo in undos]  # repeated harmlessly later


def test_a_discard_whose_mark_cannot_be_written_goes_on(tmp_path: Path) -> None:
    registry, done, journal = journaled(tmp_path)
    undo = registry.register("unblock A", "unblock_user", {"userId": SMOKY_CC})
    with file_size_limit(journal.path.stat().st_size):
        registry.discard(undo)
    assert registry.pending == []
    assert registry.restore_all() == []
    assert done == []


@pytest.mark.parametrize(
    ("stop", "label"),
    [
        (RunInterrupted("SIGINT"), CUT_SHORT),
        (KeyboardInterrupt(), CUT_SHORT),
        (SystemExit(3), "not attempted, the restore was stopped by SystemExit: 3"),
    ],
)
def test_only_an_interrupt_is_called_one(stop: BaseException, label: str) -> None:
    def perform(undo: Undo, _: float | None) -> None:
        if undo.description == "second":
            raise stop

    registry = RestoreRegistry(perform)
    for name in ("first", "second"):
        registry.register(name, "unblock_user", {})
    with pytest.raises(type(stop)):
        registry.restore_all()
    assert registry.failures == [f"second: {label}", f"first: {label}"]


def test_a_report_is_replaced_whole_or_left_as_it_was(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    write_whole(report, b"<testsuites/>")
    with file_size_limit(100), pytest.raises(OSError, match="File too large"):
        write_whole(report, b"x" * 1000)
    assert report.read_bytes() == b"<testsuites/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml"]  # no partial file left


def test_a_broken_report_is_removed_named_once_and_written_no_more(tmp_path: Path) -> None:
    faults, results = ReportFaults(), tmp_path / "allure-results"
    results.mkdir()
    (results / "a-result.json").write_text("{}")
    writes: list[str] = []

    def write(what: str) -> None:
        writes.append(what)
        raise OSError(28, "No space left on device")

    faults.attempt(ALLURE, results, lambda: write("first"))
    faults.attempt(ALLURE, results, lambda: write("second"))
    assert writes == ["first"]
    assert not results.exists()
    assert list(faults.lines("lucs: ")) == [
        f"lucs: Allure results not written: {results}: [Errno 28] No space left on device"
    ]
    assert (faults.code(PASSED), faults.code(FAILED), ReportFaults().code(PASSED)) == (REPORT_FAILED, FAILED, PASSED)


def test_an_annotation_that_cannot_be_written_removes_that_report_and_goes_on(tmp_path: Path) -> None:
    junit, cucumber = tmp_path / "junit.xml", tmp_path / "cucumber.json"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        + "<testcase classname='c' name='n'/>" * 200
        + "</testsuite></testsuites>"
    )
    cucumber.write_text("[]")
    faults = ReportFaults()
    with file_size_limit(junit.stat().st_size):
        annotate(ReportPaths(junit, cucumber), (10, "LUCS could not be reached"), {}, faults=faults)
    assert not junit.exists()
    assert list(faults.failed) == [JUNIT]
    assert json.loads(cucumber.read_text())[0]["name"] == "LUCS acceptance run"
    assert CUCUMBER not in faults.failed


def test_a_page_that_allure_cut_short_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text("<!DOCTYPE html><html><head></head><body>" + "x" * 100)
    said = "plugin awesome error Error: EFBIG: file too large, write\n    at async write (node:fs)"
    with pytest.raises(ReportError, match=r"only 140 bytes of the page: EFBIG: file too large, write$"):
        whole_page(page, said)
    page.write_text("<html><body></body></html>\n")
    assert whole_page(page, "").startswith("<html>")


def test_a_folder_under_a_file_cannot_be_written(tmp_path: Path) -> None:
    assert cannot_write(uncreatable(tmp_path, "home", ".cache")) == "[Errno 20] Not a directory"
    assert cannot_write(tmp_path / "new" / "folder") is None


def publish_html_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception) -> int:
    """`finish` of a passed run whose HTML write fails with `error`: its exit code."""
    reports = tmp_path / "reports"
    (reports / "allure-results").mkdir(parents=True)
    (reports / "allure-results" / "1-result.json").write_text("{}")
    junit = '<testsuites><testsuite><testcase classname="f" name="a"/></testsuite></testsuites>'
    (reports / "junit.xml").write_text(junit)

    def generate(*_: Any, **__: Any) -> Path:
        (reports / "report.html").write_text("<html>cut")  # what a write cut short leaves
        raise error

    monkeypatch.setattr(publish, "generate", generate)
    return publish.finish(reports, PASSED, Publishing(reports, history=None), [])


def test_an_html_report_that_cannot_be_written_is_exit_12_and_left_out_of_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = publish_html_failing(tmp_path, monkeypatch, OSError(27, "File too large"))
    out, err = capsys.readouterr()
    html = tmp_path / "reports" / "report.html"
    assert code == REPORT_FAILED
    assert err == f"lucs-acceptance: HTML report not written: {html}: {EFBIG}\n"
    assert out.startswith("LUCS acceptance: 1 passed, 0 failed -> exit 12 (report could not be written); reports: ")
    assert "HTML" not in out
    assert not html.exists()


def test_without_a_junit_report_the_summary_says_the_counts_are_unknown(tmp_path: Path) -> None:
    tally = summary.Tally.of(tmp_path / "junit.xml")
    line = summary.summary_line(REPORT_FAILED, tally, {})
    assert line == (
        "LUCS acceptance: scenario counts unknown (no JUnit report to count from) -> exit 12 "
        "(report could not be written); reports: none"
    )
    assert summary.judged(PASSED, tally) == (PASSED, None)  # not "no scenario ran"


def test_junit_written_by_pytest_is_counted(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuites><testsuite><testcase classname="f" name="a"/></testsuite></testsuites>')
    assert summary.Tally.of(junit).read
    assert summary.Tally.of(junit).passed == 1
