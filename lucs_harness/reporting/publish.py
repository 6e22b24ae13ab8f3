"""`lucs-acceptance` (and `make acceptance`): run the feature suite, then publish every report,
also when the suite fails or is interrupted.

Writes under the reports folder: `allure-results/`, `report.html` (one self-contained file),
`junit.xml` and `cucumber.json`; prints one summary line with the counts (each scenario once; those
that did not run by why) and the reports' paths; exits with the suite's own code (0 only when a
scenario passed and none failed, 5 when none ran; `lucs_harness.exit_codes` lists every code).

Ctrl-C, SIGTERM and SIGHUP are passed on to the run, which stops starting scenarios, restores what
it changed and writes its reports; a second one (a second later or more) cuts the restore short
(what is left stays in the restore journal for the next run) and skips the HTML.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lucs_harness.errors import GateError, ReportError, ReportsFolderError
from lucs_harness.exit_codes import (
    EARLY_ENDS,
    FAILED,
    MEANING,
    PASSED,
    QUALITY_GATE_FAILED,
    USAGE,
)
from lucs_harness.reporting.faults import ALLURE, ReportFaults, cannot_write, ignore_file_size_signal, why
from lucs_harness.reporting.faults import HTML as HTML_REPORT
from lucs_harness.reporting.html import generate
from lucs_harness.reporting.options import Publishing
from lucs_harness.wrapper import (
    Forwarder,
    run_suite,
)

if TYPE_CHECKING:
    from lucs_harness.reporting.quality_gate import KnownIssue
    from lucs_harness.reporting.verdict import ReportPaths

MANIFEST = ".lucs-acceptance-manifest.json"
RESULTS, JUNIT, CUCUMBER, HTML = "allure-results", "junit.xml", "cucumber.json", "report.html"
OUTPUTS = (RESULTS, JUNIT, CUCUMBER, HTML, "allure-summary.json")  # what a run writes in the reports folder


def written_before(reports: Path) -> set[str]:
    """What an earlier run wrote in `reports`, as its manifest lists it."""
    try:
        return set(json.loads((reports / MANIFEST).read_text(encoding="utf-8")).get("written", [])) & set(OUTPUTS)
    except (OSError, ValueError, AttributeError, TypeError):
        return set()


def remove_written(reports: Path) -> None:
    """Remove what earlier runs wrote in `reports` (and their manifest), never anything else:
    `make clean` and every run before it writes."""
    for name in sorted(written_before(reports)):
        entry = reports / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        elif entry.exists() or entry.is_symlink():
            entry.unlink()
    (reports / MANIFEST).unlink(missing_ok=True)


def prepare(reports: Path) -> None:
    """Remove what an earlier run wrote here (its manifest says what), never anything else; refuse
    a folder where a file of ours would overwrite one that is not."""
    reports.mkdir(parents=True, exist_ok=True)
    owned = written_before(reports)
    clash = [name for name in OUTPUTS if (reports / name).exists() and name not in owned]
    if clash:
        raise ReportsFolderError(
            f"{reports} already holds {', '.join(clash)}, not written by lucs-acceptance; "
            "move it away or choose another --reports-dir"
        )
    remove_written(reports)
    (reports / MANIFEST).write_text(json.dumps({"written": list(OUTPUTS)}, indent=2) + "\n", encoding="utf-8")


def report_paths(reports: Path) -> ReportPaths:
    from lucs_harness.reporting.verdict import ReportPaths  # what reads the reports loads after the run

    return ReportPaths(reports / JUNIT, reports / CUCUMBER, reports / RESULTS)


def report_args(reports: Path) -> list[str]:
    """The options with which pytest writes every report into `reports`."""
    return [
        f"--alluredir={reports / RESULTS}",
        f"--junitxml={reports / JUNIT}",
        f"--cucumberjson={reports / CUCUMBER}",
        "-o", "junit_family=xunit2",
    ]  # fmt: skip


def publish(pytest_args: list[str], forwarder: Forwarder, publishing: Publishing) -> int:
    """Run the suite with every report into the reports folder, then `finish` them. Folders that
    cannot be written are refused before anything runs (exit 4), in one line."""
    reports = publishing.reports.resolve()
    try:
        issues = publishing.known_issues()
        check_folders(reports, publishing)
        prepare(reports)
    except (GateError, ReportsFolderError) as error:
        print(f"lucs-acceptance: {error}", file=sys.stderr)
        return USAGE
    except OSError as error:
        where = f"reports folder {reports}: {why(error)}"
        print(f"lucs-acceptance: {where}; choose another with --reports-dir", file=sys.stderr)
        return USAGE
    ignore_file_size_signal()
    code = run_suite([*report_args(reports), *pytest_args], forwarder, meanwhile=_load_finish)
    if (code in EARLY_ENDS or code > 128) and not (reports / JUNIT).is_file():  # pytest ended early
        from lucs_harness.reporting.verdict import annotate

        faults = ReportFaults()
        verdict = (code, MEANING.get(code, f"pytest was ended by signal {code - 128}"))
        annotate(report_paths(reports), verdict, {}, faults=faults)
        say(faults)
    return finish(reports, code, publishing, issues, stopped=forwarder.count >= 2)


def _load_finish() -> None:
    """What `finish` reads the reports with, loaded while the suite runs instead of after it."""
    for module in ("quality_gate", "summary", "verdict"):
        importlib.import_module(f"lucs_harness.reporting.{module}")


def check_folders(reports: Path, publishing: Publishing) -> None:
    """The reports folder and the history's must take files: a read-only or missing home, or a
    file where a folder should be, is one line naming the folder and the option that moves it."""
    unwritable = [(reports, "--reports-dir")]
    if publishing.html and publishing.history is not None:
        unwritable.append((publishing.history.resolve().parent, "--history FILE (or --no-history)"))
    for folder, option in unwritable:
        cause = cannot_write(folder)
        if cause is not None:
            raise ReportsFolderError(f"cannot write in {folder} ({cause}); choose another with {option}")


def say(faults: ReportFaults) -> None:
    for line in faults.lines("lucs-acceptance: "):
        print(line, file=sys.stderr)


def finish(reports: Path, code: int, publishing: Publishing, issues: list[KnownIssue], *, stopped: bool = False) -> int:
    """After the results, for a run and a merge alike: known failures marked, the HTML (with the
    trend of the history and the quality gate's tab), the gate's verdict, the summary line. A run
    stopped a second time gets neither HTML nor gate. A run where no scenario ran did not pass. A
    report that could not be written whole is gone, named in a line, and exit 12 where it passed."""
    from lucs_harness.reporting.quality_gate import evaluate, mark_known
    from lucs_harness.reporting.summary import Tally, judged, summary_line

    paths = report_paths(reports)
    written = {"Allure results": paths.allure, "JUnit": paths.junit, "Cucumber": paths.cucumber}
    results = reports / RESULTS
    gate = publishing.gate
    tally = Tally.of(reports / JUNIT)
    code, meaning = judged(code, tally)
    faults = ReportFaults()
    known = (faults.attempt(ALLURE, results, lambda: mark_known(results, issues)) if issues else None) or []
    if stopped:
        print("lucs-acceptance: HTML report not written: stopped a second time", file=sys.stderr)
    elif publishing.html:
        html = _html(reports, publishing, faults)
        written = {"HTML": html, **written} if html is not None else written
    say(faults)
    if faults.code(code) != code:
        code, meaning = faults.code(code), None
    if gate.wanted and code in (PASSED, FAILED) and not stopped:
        passed, words = evaluate(results, gate)
        code = PASSED if passed else QUALITY_GATE_FAILED
        meaning = "quality gate passed" if passed else f"the quality gate failed: {words}"
    print(summary_line(code, tally, written, known=len(known), meaning=meaning))
    return code


def _html(reports: Path, publishing: Publishing, faults: ReportFaults) -> Path | None:
    """The HTML report from the Allure results, or None (and why, in `faults`): made only from
    results that were written whole (the suite removes those it could not write)."""
    results, target = reports / RESULTS, reports / HTML
    if not results.is_dir():
        faults.note(HTML_REPORT, target, "the Allure results were not written (see above)")
        return None
    if not any(results.glob("*-result.json")):
        return None
    try:
        return faults.attempt(
            HTML_REPORT, target, lambda: generate(results, target, history=publishing.history, gate=publishing.gate)
        )
    except (ReportError, KeyboardInterrupt) as error:
        faults.note(HTML_REPORT, target, str(error) or "stopped")
        return None
