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

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from lucs_harness.errors import GateError, ReportError, ReportsFolderError
from lucs_harness.exit_codes import (
    EARLY_ENDS,
    FAILED,
    INTERRUPTED,
    MEANING,
    NONE_RAN,
    NOTHING_SELECTED,
    NOTHING_TO_RUN,
    PASSED,
    PASSED_BUT_SOME_NOT_RUN,
    QUALITY_GATE_FAILED,
    USAGE,
)
from lucs_harness.interrupts import (
    RELAYED,
    SAME_REQUEST_SECONDS,
    STOP_SIGNALS,
    relay_signal,
    silence_lost_terminal,
)
from lucs_harness.reporting.faults import ALLURE, ReportFaults, cannot_write, ignore_file_size_signal, why
from lucs_harness.reporting.faults import HTML as HTML_REPORT
from lucs_harness.reporting.html import generate
from lucs_harness.reporting.options import Publishing
from lucs_harness.reporting.quality_gate import KnownIssue, evaluate, mark_known
from lucs_harness.reporting.verdict import (
    DRY_RUN,
    FLAKY,
    LIST_SEPARATOR,
    NOT_RESTORED,
    RUN_CLASS,
    ReportPaths,
    annotate,
)

# pytest plugins some installations carry that a feature run never uses (schemathesis alone costs
# half a second of start-up); blocking a plugin that is not installed is harmless
UNUSED_PLUGINS = ("schemathesis", "anyio", "hypothesispytest")
PLUGIN = "lucs_harness.plugin"  # what a project's conftest names in `pytest_plugins` to opt in
MANIFEST = ".lucs-acceptance-manifest.json"
RESULTS, JUNIT, CUCUMBER, HTML = "allure-results", "junit.xml", "cucumber.json", "report.html"
OUTPUTS = (RESULTS, JUNIT, CUCUMBER, HTML, "allure-summary.json")  # what a run writes in the reports folder
PR_SET_PDEATHSIG = 1
REASON_CHARS = 70  # of a reason why scenarios did not run, in the summary line


@dataclass(frozen=True)
class Tally:
    """Scenario counts as the JUnit XML tells them, each scenario once: pytest writes a second test
    case for a scenario whose steps failed and whose restore errored too. The run's own verdict
    entry is not a scenario; a scenario skipped or never reached is not run, counted by why."""

    passed: int
    failed: int  # steps failed, or setup or restore errored (pytest's failed and errors, once each)
    not_run: dict[str, int]  # why -> how many
    properties: dict[str, str]
    errors: int = 0  # of the failed, those with an error outside their steps: pytest counts them apart
    read: bool = True  # False: no JUnit report to count from (it could not be written), counts unknown

    @classmethod
    def of(cls, junit: Path) -> Tally:
        try:
            root = ET.parse(junit).getroot() if junit.is_file() else None
        except (ET.ParseError, OSError):
            root = None
        if root is None:
            return cls(0, 0, {}, {}, read=False)
        scenarios: dict[tuple[str, str], list[ET.Element]] = {}
        for case in root.iter("testcase"):
            if case.get("classname") != RUN_CLASS and case.get("name"):
                scenarios.setdefault((case.get("classname", ""), case.get("name", "")), []).append(case)
        passed = failed = errors = 0
        not_run: dict[str, int] = {}
        for cases in scenarios.values():
            errored = any(case.find("error") is not None for case in cases)
            skips = [skip for case in cases if (skip := case.find("skipped")) is not None]
            if errored or any(case.find("failure") is not None for case in cases):
                failed, errors = failed + 1, errors + errored
            elif skips:
                why = not_run_reason(skips[0])
                not_run[why] = not_run.get(why, 0) + 1
            else:
                passed += 1
        properties = {p.get("name", ""): p.get("value", "") for p in root.iter("property")}
        return cls(passed, failed, not_run, properties, errors)

    @property
    def flaky(self) -> int:
        """Of the passed, how many passed only on a retry (`--lucs-reruns`)."""
        names = self.properties.get(FLAKY)
        return len(names.split(LIST_SEPARATOR)) if names else 0

    @property
    def ran(self) -> int:
        return self.passed + self.failed

    @property
    def skipped(self) -> int:
        return sum(self.not_run.values())


def not_run_reason(skipped: ET.Element) -> str:
    """Why a scenario did not run, in a few words: the skip's reason on one line, cut short."""
    why = " ".join((skipped.get("message") or "skipped").split())
    return why if len(why) <= REASON_CHARS else f"{why[: REASON_CHARS - 1]}…"


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


class Forwarder:
    """Passes stop requests on to the running suite (in its own process group, so a Ctrl-C in the
    terminal reaches it through here) as the relay signals, which count once however often they
    arrive: a suite that also got the signal itself (a CI runner signalling every process) does not
    take one stop request for two. Signals within SAME_REQUEST_SECONDS of the last one counted are
    that request again (GNU timeout signals the wrapper, then its own process group, where the
    wrapper is too). Once the suite is done, a signal stops the HTML."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.received: list[int] = []
        self.suite_done = False
        self._counted_at = -SAME_REQUEST_SECONDS

    @property
    def count(self) -> int:
        """How many stop requests arrived (a burst of signals within a second is one)."""
        return len(self.received)

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self)

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            silence_lost_terminal()  # the summary line must not die on a terminal that is gone
        now = time.monotonic()
        if now - self._counted_at < SAME_REQUEST_SECONDS:
            return
        self._counted_at = now
        self.received.append(signum)
        if self.child is not None and self.child.poll() is None:
            os.kill(self.child.pid, relay_signal(self.count))
        elif self.suite_done:
            raise KeyboardInterrupt(signal.Signals(signum).name)

    def start(self, process: subprocess.Popen[bytes]) -> None:
        """Hand the suite what arrived while it was being started."""
        self.child = process
        if self.received:
            os.kill(process.pid, relay_signal(self.count))


def _die_with_parent() -> None:
    """In the child: should the wrapper be killed outright, the suite gets SIGTERM and restores."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def pytest_command(*args: str) -> list[str]:
    """`python -m pytest ARGS` with the harness's plugin (whether or not the project's conftest opts
    in: loaded once either way) and without the plugins a feature run does not need."""
    blocked = [option for name in UNUSED_PLUGINS for option in ("-p", f"no:{name}")]
    return [sys.executable, "-m", "pytest", "-p", PLUGIN, *blocked, *args]


def pytest_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment of a child pytest: the run's own LUCS_* stay; PYTHONDONTWRITEBYTECODE goes,
    because pytest must cache its rewritten bytecode, or start-up doubles."""
    return {k: v for k, v in environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_suite(pytest_args: list[str], forwarder: Forwarder) -> int:
    """The suite in a child pytest of its own process group, in this folder (the project's, with its
    features and pytest configuration); waits for it whatever happens here."""
    process = subprocess.Popen(
        pytest_command(*pytest_args), env=pytest_env(), process_group=0, preexec_fn=_die_with_parent
    )
    forwarder.start(process)
    code = process.wait()
    forwarder.suite_done = True
    if -code in RELAYED:  # stopped by our relay before it took it: interrupted before any scenario ran
        return INTERRUPTED
    return 128 - code if code < 0 else code  # killed by a signal: the shell's convention


def report_paths(reports: Path) -> ReportPaths:
    return ReportPaths(reports / JUNIT, reports / CUCUMBER, reports / RESULTS)


def report_args(reports: Path) -> list[str]:
    """The options with which pytest writes every report into `reports`."""
    return [
        f"--alluredir={reports / RESULTS}",
        f"--junitxml={reports / JUNIT}",
        f"--cucumberjson={reports / CUCUMBER}",
        "-o", "junit_family=xunit2",
    ]  # fmt: skip


def _shown(path: Path) -> str:
    return str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


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
    code = run_suite([*report_args(reports), *pytest_args], forwarder)
    if (code in EARLY_ENDS or code > 128) and not (reports / JUNIT).is_file():  # pytest ended early
        faults = ReportFaults()
        verdict = (code, MEANING.get(code, f"pytest was ended by signal {code - 128}"))
        annotate(report_paths(reports), verdict, {}, faults=faults)
        say(faults)
    return finish(reports, code, publishing, issues, stopped=forwarder.count >= 2)


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


def judged(code: int, tally: Tally) -> tuple[int, str | None]:
    """The run's code and, where the code alone would mislead, its meaning: a pass needs a scenario
    that ran and passed (every one skipped is exit 5), and says so when some did not run."""
    if code != PASSED or tally.failed or not tally.read:
        return code, None
    if tally.passed == 0:
        return (NOTHING_SELECTED, NONE_RAN) if tally.skipped else (PASSED, NOTHING_TO_RUN)
    return code, PASSED_BUT_SOME_NOT_RUN if tally.skipped else None


def summary_line(
    code: int, tally: Tally, written: dict[str, Path | None], *, known: int = 0, meaning: str | None = None
) -> str:
    """`LUCS acceptance: 12 passed (1 flaky), 2 failed (1 error), 8 not run: mock-only (…) -> exit 1 (some
    scenarios failed); reports: …`"""
    paths_text = ", ".join(f"{name} {_shown(path)}" for name, path in written.items() if path and path.exists())
    dry = "DRY RUN, nothing sent: " if DRY_RUN in tally.properties else ""
    not_restored = "; LUCS STATE NOT RESTORED (see above)" if NOT_RESTORED in tally.properties else ""
    flaky = f" ({tally.flaky} flaky)" if tally.flaky else ""
    notes = [f"{tally.errors} error{'s' * (tally.errors != 1)}"] if tally.errors else []
    notes += [f"{known} known"] if known else []
    failed_notes = f" ({', '.join(notes)})" if notes else ""
    not_run = "".join(f", {count} not run: {why}" for why, count in sorted(tally.not_run.items(), key=_most_first))
    counts = f"{tally.passed} passed{flaky}, {tally.failed} failed{failed_notes}{not_run}"
    if not tally.read:
        counts = "scenario counts unknown (no JUnit report to count from)"
    verdict = f"exit {code} ({meaning or MEANING.get(code, 'error')}){not_restored}"
    return f"LUCS acceptance: {dry}{counts} -> {verdict}; reports: {paths_text or 'none'}"


def _most_first(group: tuple[str, int]) -> tuple[int, str]:
    return -group[1], group[0]
