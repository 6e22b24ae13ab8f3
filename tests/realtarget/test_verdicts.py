"""Every early exit leaves reports a CI gate can read, with an error entry that says why."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lucs_harness.leases import FileLease
from lucs_harness.reporting.verdict import RUN_CLASS
from tests.realtarget.support import AGENT, acceptance, mock_thread


def run(reports: Path, *pytest_args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    process = acceptance("--reports-dir", str(reports), "--no-html", "--", *pytest_args, env=env)
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


def verdict_of(reports: Path) -> str:
    """The message of the run's own error entry in junit.xml (and it is in the other reports too)."""
    root = ET.parse(reports / "junit.xml").getroot()
    [case] = [c for c in root.iter("testcase") if c.get("classname") == RUN_CLASS]
    error = case.find("error")
    assert error is not None
    features = json.loads((reports / "cucumber.json").read_text())
    assert any(f["uri"] == RUN_CLASS for f in features)
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    assert any(r["fullName"] == RUN_CLASS for r in results)
    return error.get("message", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lucs-auth", "apikey"], "needs api_key"),
        (["--lucs-base-url", "http://"], "has no host"),
        (["--lucs-ca-bundle", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
        (["--no-such-option"], "usage or configuration error"),
    ],
)
def test_a_configuration_error_is_one_line_exit_4_and_a_report(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = run(tmp_path, *args)
    assert code == 4, output[-3000:]
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    assert message in verdict_of(tmp_path)


def test_refused_credentials_end_with_11_and_a_report(tmp_path: Path) -> None:
    with mock_thread("--auth", "apikey", "--secret", "right-key") as base:
        code, output = run(tmp_path, "--lucs-base-url", base, env={"LUCS_AUTH": "apikey", "LUCS_API_KEY": "wrong"})
    assert code == 11, output[-3000:]
    assert "refused the credentials" in verdict_of(tmp_path)


def test_no_free_agent_ends_with_13_and_a_report(tmp_path: Path) -> None:
    leases = tmp_path / "leases"
    with mock_thread() as base:
        holder = FileLease.take(leases, AGENT, "another run")  # --lucs-lease-dir names the folder itself
        assert holder is not None
        try:
            code, output = run(
                tmp_path / "reports", "--lucs-base-url", base, "--lucs-lease-dir", str(leases), "--lucs-lease-wait=0"
            )
        finally:
            holder.release()
    assert code == 13, output[-3000:]
    assert "no agent free" in verdict_of(tmp_path / "reports")


def test_a_failure_reads_as_a_step_and_last_failed_reruns_only_it(tmp_path: Path) -> None:
    """A failure starts with the feature file and line, the scenario and the step; `--lf` as pytest
    users know it (the cache is on for runs of the suite)."""
    cache = ["-o", f"cache_dir={tmp_path / 'cache'}"]
    first_code, first = run(tmp_path / "first", *cache, "--lucs-mock-fault", "block-wrong-reason")
    failure = first.split(" FAILURES ")[1].split("short test summary")[0].strip().splitlines()
    assert failure[2].startswith("features/control_users.feature:20: Scenario: Blocking takes the user"), failure
    assert failure[3] == "  failed at line 23: And the returned user has:"
    assert 'NotSelectableReason: expected "InAServiceTask", got "Busy"' in "\n".join(failure)
    assert len(failure) <= 15  # no pytest internals
    again_code, again = run(tmp_path / "again", *cache, "--lf", "--lucs-mock-fault", "block-wrong-reason")
    assert (first_code, again_code) == (1, 1), again[-3000:]
    failed = re.search(r"LUCS acceptance: \d+ passed, (\d+) failed", first)
    assert failed, first[-3000:]
    assert f"LUCS acceptance: 0 passed, {failed.group(1)} failed -> exit 1" in again  # those that passed did not run
