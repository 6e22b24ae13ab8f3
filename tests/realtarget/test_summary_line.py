"""One verdict a CI gate can trust: the summary line of `lucs-acceptance`, its exit code and
junit.xml agree with each other and with pytest's own line, whatever the run met: scenarios
skipped on a real LUCS (counted by why), none that ran, a LUCS that cannot be reached, an undo that
failed. Counts come from the marks and from junit.xml, never from the list of features."""

from __future__ import annotations

import functools
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lucs_harness.reporting.verdict import RUN_CLASS
from tests.realtarget.support import free_port, mock_thread
from tests.support.suite import ROOT, child_env, run_wrapper, suite_command

CHANGES = "changes not allowed on this target (--lucs-allow-changes)"
MOCK_ONLY = "mock-only (needs the mock's clock)"
TIMEOUT = 120


@pytest.fixture(scope="module")
def real_lucs() -> Iterator[str]:
    """`lucs-mock serve` as the real LUCS the suite is pointed at."""
    with mock_thread() as base:
        yield base


# the tests that count with `collected`: on one worker, so each selection's count is asked once
COUNTING = pytest.mark.xdist_group("summary-counts")


@functools.cache
def collected(*marks: str) -> int:
    """How many scenarios the suite selects with `-m` (all without): the marks decide, not a list.
    Asked once per selection in a process (a child pytest each): the tests ask the same ones."""
    selection = ["-m", *marks] if marks else []
    listed = subprocess.run(
        suite_command("--co", "-q", *selection), cwd=ROOT, env=child_env(), capture_output=True, text=True, check=True
    ).stdout
    return sum("::" in line for line in listed.splitlines())


def wrapper(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """`lucs-acceptance ARGS` to its end, reports and journals in tmp_path: exit code, the summary
    line, and pytest's own last line."""
    done = run_wrapper(
        "--reports-dir", str(tmp_path / "reports"), "--no-html", *args,
        env={"LUCS_JOURNAL_DIR": str(tmp_path / "journals")}, timeout=TIMEOUT,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    summary = next((line for line in reversed(lines) if line.startswith("LUCS acceptance: ")), "")
    assert summary, done.stdout[-3000:] + done.stderr[-3000:]
    pytest_line = next((line for line in reversed(lines) if re.match(r"^=+ .* in [\d.]+s", line)), "")
    return done.returncode, summary, pytest_line


def junit_cases(tmp_path: Path) -> list[ET.Element]:
    """The scenarios' test cases in junit.xml (not the run's own verdict entry); none is nameless."""
    root = ET.parse(tmp_path / "reports" / "junit.xml").getroot()
    cases = list(root.iter("testcase"))
    assert all(case.get("name") and case.get("classname") for case in cases), ET.tostring(root)[:2000]
    return [case for case in cases if case.get("classname") != RUN_CLASS]


def counts(pytest_line: str) -> dict[str, int]:
    """pytest's own line as counts by outcome (the deselected left out)."""
    pairs = re.findall(r"(\d+) (\w+)", pytest_line.split(" in ")[0])
    return {word: int(n) for n, word in pairs if word != "deselected"}


def skip_reasons(cases: list[ET.Element]) -> Counter[str]:
    return Counter(skipped.get("message", "") for case in cases if (skipped := case.find("skipped")) is not None)


@COUNTING
def test_skips_on_a_real_lucs_are_counted_by_why(tmp_path: Path, real_lucs: str) -> None:
    """Without --lucs-allow-changes: the read-only scenarios pass, exit 0 says only those that ran
    passed, and the line says how many did not run and why (`-rs` is not needed)."""
    changes, mock_only = collected("changes-state and not mock-only"), collected("mock-only")
    passed = collected() - changes - mock_only
    code, summary, pytest_line = wrapper(tmp_path, "--lucs-base-url", real_lucs)
    assert code == 0, summary
    assert summary.startswith(f"LUCS acceptance: {passed} passed, 0 failed, "), summary
    assert f"{changes} not run: {CHANGES}" in summary
    assert f"{mock_only} not run: {MOCK_ONLY}" in summary
    assert "-> exit 0 (the scenarios that ran passed)" in summary
    assert counts(pytest_line) == {"passed": passed, "skipped": changes + mock_only}
    assert skip_reasons(junit_cases(tmp_path)) == Counter({CHANGES: changes, MOCK_ONLY: mock_only})


@COUNTING
def test_a_run_where_no_scenario_ran_does_not_pass(tmp_path: Path, real_lucs: str) -> None:
    """Every selected scenario skipped: not "all selected scenarios passed" and exit 0, but exit 5."""
    changes, mock_only = collected("changes-state and not mock-only"), collected("mock-only")
    code, summary, _ = wrapper(tmp_path, "--lucs-base-url", real_lucs, "-m", "changes-state")
    assert code == 5, summary
    assert summary.startswith("LUCS acceptance: 0 passed, 0 failed, "), summary
    assert f"{changes} not run: {CHANGES}" in summary
    assert f"{mock_only} not run: {MOCK_ONLY}" in summary
    assert "-> exit 5 (no scenario ran)" in summary


@COUNTING
def test_an_unreachable_lucs_is_exit_10_with_every_scenario_not_run(tmp_path: Path) -> None:
    """Nothing listens: no scenario passed (pytest's JUnit writer left a nameless test case counted
    as one), and junit.xml holds every selected scenario, not run, and the run's entry saying why."""
    code, summary, _ = wrapper(tmp_path, "--lucs-base-url", f"http://127.0.0.1:{free_port()}")
    selected = collected()
    assert code == 10, summary
    assert summary.startswith(
        f"LUCS acceptance: 0 passed, 0 failed, {selected} not run: the run ended early -> exit 10 (LUCS could not be "
        "reached)"
    ), summary
    cases = junit_cases(tmp_path)
    assert len(cases) == selected
    assert skip_reasons(cases) == Counter({"the run ended early": selected})
    assert "exit 10: LUCS could not be reached" in (tmp_path / "reports" / "junit.xml").read_text()


@pytest.mark.parametrize(
    ("faults", "pytest_counts"),
    [
        (["unblock-fails-once"], {"passed": 2, "error": 1}),  # the scenario passed, its restore failed
        (["unblock-fails-once", "block-wrong-reason"], {"passed": 1, "failed": 1, "error": 1}),  # both failed
    ],
    ids=["restore-failed", "steps-and-restore-failed"],
)
def test_a_failed_undo_fails_its_scenario_once(
    tmp_path: Path, faults: list[str], pytest_counts: dict[str, int]
) -> None:
    """The mock answers the restore's unblock with a 503. pytest counts the error apart (its passed
    include the scenario whose restore failed); the harness counts each scenario once, failed."""
    selected = ["-k", "listed_as_selectable or blocking_takes"]
    code, summary, pytest_line = wrapper(tmp_path, *(f"--lucs-mock-fault={fault}" for fault in faults), *selected)
    assert code == 1, summary
    assert counts(pytest_line) == pytest_counts
    assert summary.startswith("LUCS acceptance: 1 passed, 1 failed (1 error) -> exit 1 (some scenarios failed); "
                              "LUCS STATE NOT RESTORED"), summary  # fmt: skip
    failed = [case.get("name") for case in junit_cases(tmp_path) if case.find("skipped") is None and len(case)]
    assert len(set(failed)) == 1  # pytest wrote a second case for it where its steps failed too
