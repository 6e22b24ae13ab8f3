"""A target that is not ready is one finding, not a failure per scenario: an agent left blocked ends
the run before any scenario (exit 15), and an undo that fails mid-run keeps the later scenarios off
the agent it left changed. The mock runs as a separate process, as a real LUCS would."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import requests

from lucs_harness.config import LucsConfig
from lucs_harness.leases import FileLease
from lucs_harness.mock.control import MockControl
from lucs_harness.reporting.verdict import NOT_RESTORED, RUN_CLASS
from tests.realtarget.support import AGENT, acceptance, mock_thread

OTHER = "sip:smoky.dd@dev.local"
PRECONDITION = "precondition failed"


def run(tmp_path: Path, base: str, *pytest_args: str) -> tuple[int, str]:
    """`lucs-acceptance` against `base` with changes allowed, writing only below `tmp_path`."""
    env = {"LUCS_JOURNAL_DIR": str(tmp_path / "journals"), "LUCS_LEASE_DIR": str(tmp_path / "leases")}
    args = ["--reports-dir", str(tmp_path / "reports"), "--no-html", "--no-history", "--"]
    args += ["--lucs-base-url", base, "--lucs-allow-changes", "-p", "no:cacheprovider", *pytest_args]
    process = acceptance(*args, env=env)
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


def block(base: str, sip: str) -> None:
    """Block an agent through the mock's LUCS API, as another system (or a lost run) would."""
    users = requests.get(f"{base}/v1.0/services/{LucsConfig().service_id}/users", timeout=5).json()
    user_id = next(u["Id"] for u in users if u["SipUri"] == sip)
    requests.post(f"{base}/v1.0/users/{user_id}/block", timeout=5).raise_for_status()


def scenarios_of(reports: Path) -> list[ET.Element]:
    """The scenarios' entries in junit.xml, in the order they ran (the run's own entry left out)."""
    root = ET.parse(reports / "junit.xml").getroot()
    return [case for case in root.iter("testcase") if case.get("classname") != RUN_CLASS and case.get("name")]


def verdict(reports: Path) -> str:
    """The message of the run's own error entry in junit.xml."""
    root = ET.parse(reports / "junit.xml").getroot()
    [case] = [c for c in root.iter("testcase") if c.get("classname") == RUN_CLASS]
    error = case.find("error")
    assert error is not None
    return error.get("message", "")


def test_an_agent_left_blocked_ends_the_run_before_any_scenario_with_one_finding(tmp_path: Path) -> None:
    with mock_thread() as base:
        block(base, AGENT)
        before = MockControl(base).state()
        code, output = run(tmp_path, base)
        after = MockControl(base).state()
    assert code == 15, output[-3000:]
    assert after == before  # nothing was sent but reads
    assert output.count("lucs: target not ready: 1 agent(s) of the pool cannot start the use case") == 1
    [finding] = [line for line in output.splitlines() if line.startswith(f"  {AGENT}: ")]
    assert "blocked through the LUCS API" in finding
    assert "repair: unblock it in LUCS" in output
    assert PRECONDITION not in output
    assert "Traceback" not in output
    assert "-> exit 15 (target not ready)" in output
    reports = tmp_path / "reports"
    assert verdict(reports).startswith(
        f"exit 15: target not ready: 1 agent(s) of the pool cannot start the use case: {AGENT}: blocked"
    )
    cases = scenarios_of(reports)
    assert cases  # every selected scenario is listed, each as not run
    assert all(case.find("skipped") is not None for case in cases)
    assert "0 passed, 0 failed" in output


def test_an_agent_a_live_run_holds_is_left_to_that_run(tmp_path: Path) -> None:
    """Blocked by the run that holds its lease (it will undo that): not this run's finding."""
    with mock_thread() as base:
        block(base, OTHER)
        other_run = FileLease.take(tmp_path / "leases", OTHER, "another run")
        assert other_run is not None
        try:
            code, output = run(tmp_path, base, "--lucs-agents", f"{AGENT},{OTHER}", "-m", "smoke")
        finally:
            other_run.release()
    assert code == 0, output[-3000:]
    assert "target not ready" not in output


def test_a_failed_undo_keeps_the_later_scenarios_off_the_agent_it_left_changed(tmp_path: Path) -> None:
    """The mock closes a task with POST …/close; the suite's DELETE is refused (405), so the first
    task a scenario posts stays open and its agent holds it."""
    with mock_thread("--convention", "close=post-close") as base:
        code, output = run(tmp_path, base)
    assert code == 1, output[-3000:]
    cases = scenarios_of(tmp_path / "reports")
    [failed] = [i for i, case in enumerate(cases) if case.find("error") is not None or case.find("failure") is not None]
    scenario = cases[failed].get("name")
    reason = f"not run: agent {AGENT} was left changed by the failed undo of scenario {scenario}"
    later = [skip_reason(case) for case in cases[failed + 1 :]]
    assert reason in later
    assert all(later), later  # after it, nothing ran
    assert all(why == reason for why in later if why.startswith("not run:")), later
    assert output.count(PRECONDITION) == 0
    assert output.count("was left changed by the failed undo") == 1  # one finding at the end
    finding = f"{later.count(reason)} later scenario(s) not run: agent {AGENT} was left changed"
    assert finding in output
    assert finding in not_restored(tmp_path / "reports")


def skip_reason(case: ET.Element) -> str:
    """Why a scenario was skipped; empty when it ran."""
    skipped = case.find("skipped")
    return "" if skipped is None else skipped.get("message", "")


def not_restored(reports: Path) -> str:
    """What the run's JUnit properties list as not restored."""
    root = ET.parse(reports / "junit.xml").getroot()
    return " ".join(p.get("value", "") for p in root.iter("property") if p.get("name") == NOT_RESTORED)
