"""`--lucs-reruns N` through the wrapper: a failed scenario is tried again after its restore, a
pass on a retry is flaky (summary line, JUnit, Allure), and a scenario that keeps failing is one
failure that carries its earlier tries."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.realtarget.support import acceptance

UNBLOCK = "test_unblocking_a_blocked_user_makes_them_selectable_again"


def run(reports: Path, *args: str) -> tuple[int, str]:
    process = acceptance("--reports-dir", str(reports), "--no-html", "-k", "unblocking_a_blocked_user", *args)
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


def cases(reports: Path) -> list[ET.Element]:
    return [c for c in ET.parse(reports / "junit.xml").getroot().iter("testcase") if c.get("name") == UNBLOCK]


def test_a_pass_on_a_retry_after_the_restore_is_flaky(tmp_path: Path) -> None:
    # the first unblock fails: the user stays blocked until the restore unblocks them, and the retry
    # starts from "the target user is selectable", so it can pass only if the restore ran in between
    code, output = run(tmp_path, "--lucs-mock-fault=unblock-fails-once", "--lucs-reruns=1")
    assert code == 0, output[-3000:]
    assert "1 passed (1 flaky), 0 failed" in output
    [case] = cases(tmp_path)
    [earlier] = case.findall("flakyFailure")
    assert "503: expected status 200" in earlier.get("message", "")
    results = [json.loads(p.read_text()) for p in (tmp_path / "allure-results").glob("*-result.json")]
    tries = sorted((r for r in results if r["name"].startswith("Unblocking a blocked")), key=lambda r: r["start"])
    assert [r["status"] for r in tries] == ["failed", "passed"]
    assert tries[-1]["statusDetails"]["flaky"] is True
    scenarios = [e for f in json.loads((tmp_path / "cucumber.json").read_text()) for e in f["elements"]]
    assert len(scenarios) == 1


def test_without_reruns_the_same_failure_fails_the_run(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--lucs-mock-fault=unblock-fails-once")
    assert code == 1, output[-3000:]
    assert "0 passed, 1 failed" in output


def test_a_scenario_failing_every_try_is_one_failure_with_its_tries(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--lucs-mock-fault=unblock-keeps-blocked", "--lucs-reruns=2")
    assert code == 1, output[-3000:]
    assert "0 passed, 1 failed" in output
    [case] = cases(tmp_path)
    assert case.find("failure") is not None
    assert len(case.findall("rerunFailure")) == 2
