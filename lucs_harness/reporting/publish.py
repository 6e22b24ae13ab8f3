"""`make acceptance`: run the feature suite, then publish every report, also when the suite fails.

Writes under the reports folder: `allure-results/`, `report.html` (one self-contained file),
`junit.xml` and `cucumber.json`; prints one summary line with their paths; exits with the suite's
own code (0 only when every selected scenario passed), 10 when LUCS could not be reached, 11 when
it refused the credentials, 12 when the suite passed but the HTML could not be written, 13 when no
agent of the pool was free.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from lucs_harness.reporting.html import ReportError, generate
from lucs_harness.suite import ROOT, suite_command

EXIT_REPORT_FAILED = 12
EXPLAINED = {
    0: "all selected scenarios passed",
    1: "some scenarios failed",
    2: "interrupted",
    4: "usage error",
    5: "no scenario selected",
    10: "LUCS could not be reached",
    11: "LUCS refused the credentials",
    13: "no agent of the pool was free",
}


@dataclass(frozen=True)
class Tally:
    """Scenario counts as the JUnit XML tells them."""

    passed: int
    failed: int
    skipped: int

    @classmethod
    def of(cls, junit: Path) -> Tally:
        if not junit.is_file():
            return cls(0, 0, 0)
        suites = ET.parse(junit).getroot().iter("testsuite")
        total = failed = skipped = 0
        for suite in suites:
            total += int(suite.get("tests", 0))
            failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped += int(suite.get("skipped", 0))
        return cls(total - failed - skipped, failed, skipped)


def clean(reports: Path) -> None:
    """Empty the reports folder of an earlier run (its README stays)."""
    reports.mkdir(parents=True, exist_ok=True)
    for entry in reports.iterdir():
        if entry.name == "README.md":
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def run_suite(reports: Path, pytest_args: list[str]) -> int:
    """The feature suite in a child pytest, writing Allure results, JUnit XML and Cucumber JSON."""
    command = suite_command(
        f"--alluredir={reports / 'allure-results'}",
        f"--junitxml={reports / 'junit.xml'}",
        f"--cucumberjson={reports / 'cucumber.json'}",
        "-o", "junit_family=xunit2",
        *pytest_args,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # the run's own LUCS_* stay
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="lucs-acceptance", description=__doc__.splitlines()[0] if __doc__ else None)
    cli.add_argument("--reports-dir", type=Path, default=ROOT / "reports", help="where the reports go")
    cli.add_argument("--no-html", action="store_true", help="skip the HTML report (no Node.js needed)")
    cli.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest (after --)")
    args = cli.parse_args(argv)
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    reports: Path = args.reports_dir.resolve()
    clean(reports)
    code = run_suite(reports, pytest_args)
    written = {
        "Allure results": reports / "allure-results",
        "JUnit": reports / "junit.xml",
        "Cucumber": reports / "cucumber.json",
    }
    html = reports / "report.html"
    results = reports / "allure-results"
    if not args.no_html and results.is_dir() and any(results.glob("*-result.json")):
        try:
            written = {"HTML": generate(results, html), **written}
        except ReportError as error:
            print(f"lucs-acceptance: HTML report not written: {error}", file=sys.stderr)
            code = code or EXIT_REPORT_FAILED
    tally = Tally.of(reports / "junit.xml")
    paths = ", ".join(f"{name} {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
                      for name, path in written.items() if path.exists())  # fmt: skip
    verdict = EXPLAINED.get(code, "report could not be written" if code == EXIT_REPORT_FAILED else "error")
    print(
        f"LUCS acceptance: {tally.passed} passed, {tally.failed} failed, {tally.skipped} skipped "
        f"-> exit {code} ({verdict}); reports: {paths or 'none'}"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
