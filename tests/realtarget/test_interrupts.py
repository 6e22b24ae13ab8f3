"""Interrupted the way terminals and CI runners interrupt it (SIGINT, SIGTERM, SIGHUP to the
wrapper, its process group, pytest alone, or every process), killed outright, or stopped twice:
a run through `lucs-acceptance` leaves LUCS as it found it, or says what it left and repairs it
before the next run. The mock serves from a thread of the test's process, apart from the run's
processes as a real LUCS would be (no signal here reaches it)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lucs_harness.config import LucsConfig
from lucs_harness.interrupts import SAME_REQUEST_SECONDS
from lucs_harness.journal import journal_folder
from lucs_harness.mock.control import MockControl
from tests.realtarget.support import (
    AGENT,
    JOURNALS,
    TARGET_ENV,
    acceptance,
    agent_state,
    mock_thread,
    session_processes,
    signal_run,
    slowed_mock,
    wait_for,
)
from tests.support.suite import ROOT, child_env, run_wrapper

BLOCK = "I block the target user"
PRESENCE = 'I set the presence of the target user to "DoNotDisturb"'
TASK = "I post an external task that prefers only the target user"
TIMEOUT = 60
SCENARIO = {BLOCK: "blocking_takes", PRESENCE: "setting_the_presence", TASK: "task_for_a_blocked"}


def start(base: str, reports: Path, *extra: str, pause_after: str | None = None) -> subprocess.Popen[str]:
    """`lucs-acceptance` against `base`, optionally holding after a step until it is signalled."""
    args = wrapper_args(base, reports, *extra, pause_after=pause_after)
    return acceptance(*args, env=pause_env(reports, pause_after))


def wrapper_args(base: str, reports: Path, *extra: str, pause_after: str | None = None) -> list[str]:
    selected = ["-k", f"{SCENARIO[pause_after]} or listed_as_selectable"] if pause_after else []
    pytest_args = [
        "--lucs-base-url",
        base,
        "--lucs-allow-changes",
        "--lucs-hold-time",
        "0.2",
        "-p",
        "tests.realtarget.pause_plugin",
    ]
    return ["--reports-dir", str(reports), "--no-html", "--", *pytest_args, *selected, *extra]


def pause_env(reports: Path, pause_after: str | None) -> dict[str, str]:
    """The pause plugin's settings: hold after `pause_after`, say so in `paused`, and in `stopped`
    once a stop request ended the hold."""
    if pause_after is None:
        return {}
    return {
        "LUCS_TEST_PAUSE_AFTER": pause_after,
        "LUCS_TEST_PAUSED": str(reports / "paused"),
        "LUCS_TEST_STOPPED": str(reports / "stopped"),
    }


@pytest.mark.parametrize(
    ("to", "sig", "moment"),
    [
        ("wrapper", signal.SIGINT, BLOCK),
        ("group", signal.SIGINT, TASK),
        ("pytest", signal.SIGTERM, PRESENCE),
        ("wrapper", signal.SIGTERM, TASK),
        ("group", signal.SIGHUP, BLOCK),
        ("wrapper", signal.SIGHUP, PRESENCE),
        ("all", signal.SIGTERM, TASK),
        ("all", signal.SIGINT, BLOCK),
    ],
)
def test_a_signal_at_a_step_leaves_lucs_as_found(tmp_path: Path, to: str, sig: signal.Signals, moment: str) -> None:
    with mock_thread() as base:
        before = agent_state(base)
        run = start(base, tmp_path, pause_after=moment)
        wait_for((tmp_path / "paused").exists, f"the run to reach {moment!r}")
        assert agent_state(base) != before  # the change really happened
        signal_run(run, sig, to)
        output, _ = run.communicate(timeout=TIMEOUT)
        assert run.returncode == 2, output[-3000:]
        assert agent_state(base) == before, output[-3000:]
    assert "LUCS STATE NOT RESTORED" not in output
    assert "-> exit 2 (interrupted)" in output
    junit = (tmp_path / "junit.xml").read_text()
    assert "run interrupted by" in junit  # the CI gate sees why
    assert (tmp_path / "cucumber.json").is_file()
    assert any((tmp_path / "allure-results").glob("*-result.json"))


@pytest.mark.parametrize("to", ["wrapper", "group"])
def test_a_signal_mid_call_leaves_lucs_as_found(tmp_path: Path, to: str) -> None:
    """Every answer takes 0.2 s, so the signal lands while a request is on the wire."""
    with mock_thread("--latency", "0.2") as base:
        before = agent_state(base)
        run = start(base, tmp_path, "-k", "blocking_takes or task_for_a_blocked")
        wait_for(lambda: agent_state(base)[0], "the agent to be blocked")
        signal_run(run, signal.SIGINT, to)
        output, _ = run.communicate(timeout=TIMEOUT)
        assert run.returncode == 2, output[-3000:]
        assert agent_state(base) == before, output[-3000:]


def test_a_second_signal_cuts_the_restore_short_and_the_journal_repairs_it(tmp_path: Path) -> None:
    """Once the task is posted, each call takes longer than SAME_REQUEST_SECONDS, so the second
    signal, sent once the first undo is done, comes after that window: the user's second request,
    not the first one again."""
    with slowed_mock() as mock:
        base = mock.base_url
        before = agent_state(base)
        run = start(base, tmp_path / "reports", "-k", SCENARIO[TASK], pause_after=TASK)
        wait_for((tmp_path / "reports" / "paused").exists, "the task to be posted")
        mock.delay = SAME_REQUEST_SECONDS + 0.2  # every call of the restore
        signal_run(run, signal.SIGINT, "wrapper")
        # the restore closes the task first: stop again while it unblocks
        wait_for(lambda: agent_state(base)[3] == [], "the restore to close the task")
        signal_run(run, signal.SIGINT, "wrapper")
        output, _ = run.communicate(timeout=TIMEOUT)
        mock.delay = 0
        assert run.returncode == 2, output[-3000:]
        assert "LUCS STATE NOT RESTORED" in output
        assert "unblock sip:smoky.cc@dev.local: cut short by a second interrupt" in output
        assert list(journal_folder(base, _service(), str(JOURNALS)).glob("*.jsonl"))
        repaired = run_wrapper("restore", "--lucs-base-url", base, env=TARGET_ENV, timeout=TIMEOUT)
        assert repaired.returncode == 0, repaired.stdout[-3000:] + repaired.stderr[-3000:]
        assert "undone: unblock sip:smoky.cc@dev.local" in repaired.stdout
        assert agent_state(base) == before
        assert not list(journal_folder(base, _service(), str(JOURNALS)).glob("*.jsonl"))


def test_a_killed_run_is_repaired_by_the_next_run_which_then_passes(tmp_path: Path) -> None:
    with mock_thread() as base:
        before = agent_state(base)
        run = start(base, tmp_path / "first", pause_after=TASK)
        wait_for((tmp_path / "first" / "paused").exists, "the task to be posted")
        signal_run(run, signal.SIGKILL, "all")
        run.wait(timeout=TIMEOUT)
        wait_for(lambda: not session_processes(run.pid), "every process of the run to die")
        left = agent_state(base)
        assert left[0], left  # blocked ...
        assert left[3], left  # ... with a task pending: the kill left LUCS changed
        second = start(base, tmp_path / "second", "-k", "blocking_takes or task_for_a_blocked")
        output, _ = second.communicate(timeout=TIMEOUT)
        assert second.returncode == 0, output[-3000:]
        assert f"undone: close task {left[3][0]}" in output
        assert "undone: unblock sip:smoky.cc@dev.local" in output
        assert agent_state(base)[:3] == before[:3]


def test_without_a_journal_open_tasks_are_closed_and_the_block_is_named_before_any_scenario(tmp_path: Path) -> None:
    """A fresh CI container: the journal is gone with the killed run's container. The block nobody
    can undo is one finding with its repair, and the run ends before any scenario (exit 15)."""
    journals = tmp_path / "journals"
    with mock_thread() as base:
        env = {"LUCS_JOURNAL_DIR": str(journals)}
        first = acceptance(
            "--reports-dir", str(tmp_path / "first"), "--no-html", "--", "--lucs-base-url", base,
            "--lucs-allow-changes", "-p", "tests.realtarget.pause_plugin",
            env=env | {"LUCS_TEST_PAUSE_AFTER": TASK, "LUCS_TEST_PAUSED": str(tmp_path / "paused")},
        )  # fmt: skip
        wait_for((tmp_path / "paused").exists, "the task to be posted")
        signal_run(first, signal.SIGKILL, "all")
        first.wait(timeout=TIMEOUT)
        wait_for(lambda: not session_processes(first.pid), "every process of the run to die")
        task = agent_state(base)[3][0]
        for journal in journals.rglob("*"):
            if journal.is_file():
                journal.unlink()
        second = acceptance(
            "--reports-dir", str(tmp_path / "second"), "--no-html", "--", "--lucs-base-url", base,
            "--lucs-allow-changes", "--lucs-orphan-task-age", "0", "-k", "listed_as_selectable",
            env=env,
        )  # fmt: skip
        output, _ = second.communicate(timeout=TIMEOUT)
        assert second.returncode == 15, output[-3000:]
        assert f"closed: task {task} that an earlier run left open" in output
        assert f"  {AGENT}: blocked through the LUCS API" in output
        assert "repair: unblock it in LUCS: no restore journal of this harness undoes it" in output
        assert "precondition failed" not in output
        assert agent_state(base)[3] == []


def _service() -> str:
    return LucsConfig().service_id


def _wrapper() -> list[str]:
    return [sys.executable, "-m", "lucs_harness.cli"]


def test_ctrl_c_through_make_acceptance_restores_and_still_publishes_the_html(tmp_path: Path) -> None:
    """The README's own command, interrupted as a terminal does it (SIGINT to make's process group)."""
    paused = tmp_path / "paused"
    with mock_thread() as base:
        before = agent_state(base)
        reports = f"--reports-dir={tmp_path / 'reports'} --history={tmp_path / 'history.jsonl'}"
        args = (
            f"{reports} --lucs-base-url {base} --lucs-allow-changes -k blocking_takes -p tests.realtarget.pause_plugin"
        )
        run = subprocess.Popen(
            ["make", "--no-print-directory", "acceptance", f"ARGS={args}"],
            cwd=ROOT,
            env=child_env(**TARGET_ENV, LUCS_TEST_PAUSE_AFTER=BLOCK, LUCS_TEST_PAUSED=str(paused)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        wait_for(paused.exists, "the run to block the agent", timeout=TIMEOUT)
        signal_run(run, signal.SIGINT, "group")
        output, _ = run.communicate(timeout=TIMEOUT)
        assert run.returncode != 0, output[-3000:]
        assert agent_state(base) == before, output[-3000:]
    assert "-> exit 2 (interrupted)" in output
    assert f"HTML {tmp_path / 'reports' / 'report.html'}" in output


@pytest.mark.parametrize("to", ["wrapper", "all"])
def test_a_signal_to_a_parallel_run_restores_every_workers_agent(tmp_path: Path, to: str) -> None:
    pool = "sip:smoky.cc@dev.local,sip:smoky.dd@dev.local"
    with mock_thread("--latency", "0.05") as base:
        before = MockControl(base).state()["users"]
        run = start(
            base, tmp_path, "-n", "2", "--lucs-agents", pool, "--lucs-lease-dir", str(tmp_path / "leases"),
            pause_after=BLOCK,
        )  # fmt: skip
        wait_for((tmp_path / "paused").exists, "a worker to block its agent")
        signal_run(run, signal.SIGINT, to)
        output, _ = run.communicate(timeout=TIMEOUT)
        assert run.returncode == 2, output[-3000:]
        after = MockControl(base).state()
        assert after["users"] == before, output[-3000:]
        assert [t for t in after["tasks"] if t["State"] != "Closed"] == []
    assert "LUCS STATE NOT RESTORED" not in output


@pytest.mark.parametrize("to", ["wrapper", "group"])
def test_a_signal_while_pytest_starts_ends_with_2_and_a_report(tmp_path: Path, to: str) -> None:
    """Before the harness has taken the signals: the run ends at once, interrupted, with its reports."""
    with mock_thread() as base:
        before = agent_state(base)
        run = start(base, tmp_path)
        wait_for(lambda: len(session_processes(run.pid)) >= 2, "pytest to be started")
        signal_run(run, signal.SIGINT, to)
        output, _ = run.communicate(timeout=TIMEOUT)
        assert run.returncode == 2, output[-3000:]
        assert agent_state(base) == before
    assert "Traceback" not in output
    assert (tmp_path / "junit.xml").is_file()


def interrupted_cleanly(output: str, reports: Path) -> None:
    """Exit 2 with the summary line, no traceback from any plugin, and every report written with
    the reason, the restore not cut short and no nameless test case."""
    assert "-> exit 2 (interrupted)" in output, output[-3000:]
    assert "Traceback" not in output, output[-5000:]
    assert "cut short" not in output, output[-3000:]
    assert "LUCS STATE NOT RESTORED" not in output
    junit = ET.parse(reports / "junit.xml").getroot()
    assert "run interrupted by" in ET.tostring(junit, encoding="unicode")
    assert all(case.get("name") for case in junit.iter("testcase"))
    assert (reports / "cucumber.json").is_file()
    assert any((reports / "allure-results").glob("*-result.json"))


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs GNU coreutils' timeout")
def test_gnu_timeout_is_one_stop_request(tmp_path: Path) -> None:
    """`timeout -s TERM N lucs-acceptance`: when N runs out, timeout sends SIGTERM to the wrapper,
    then to its own process group, where the wrapper is too. SIGALRM is timeout's own timer running
    out (the same code path, without waiting N seconds): sent once the run holds its change."""
    reports = tmp_path / "reports"
    command = ["timeout", "--preserve-status", "-s", "TERM", "600", sys.executable, "-m", "lucs_harness.cli"]
    with mock_thread() as base:
        before = agent_state(base)
        run = subprocess.Popen(
            [*command, *wrapper_args(base, reports, pause_after=BLOCK)],
            cwd=ROOT,
            env=child_env(**TARGET_ENV, **pause_env(reports, BLOCK)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        wait_for((reports / "paused").exists, "the run to block the agent")
        run.send_signal(signal.SIGALRM)
        output, _ = run.communicate(timeout=TIMEOUT)
        assert run.returncode == 2, output[-3000:]  # the wrapper's own code (--preserve-status)
        assert agent_state(base) == before, output[-3000:]
    interrupted_cleanly(output, reports)


def test_a_signal_to_the_wrapper_and_then_to_its_group_is_one_stop_request(tmp_path: Path) -> None:
    """The two signals of a CI timeout, each handled apart: the second lands once the first has
    stopped the scenario, while its restore runs."""
    reports = tmp_path / "reports"
    with mock_thread() as base:
        before = agent_state(base)
        run = start(base, reports, pause_after=BLOCK)
        wait_for((reports / "paused").exists, "the run to block the agent")
        sent = time.monotonic()
        signal_run(run, signal.SIGTERM, "wrapper")
        wait_for((reports / "stopped").exists, "the first signal to stop the scenario")
        late = time.monotonic() - sent > SAME_REQUEST_SECONDS / 2
        signal_run(run, signal.SIGTERM, "group")
        output, _ = run.communicate(timeout=TIMEOUT)
        if late:
            pytest.skip("the first signal took too long to stop the scenario for a second one within the window")
        assert run.returncode == 2, output[-3000:]
        assert agent_state(base) == before, output[-3000:]
    interrupted_cleanly(output, reports)


def test_a_second_request_before_the_restore_began_keeps_every_undo_and_ends_cleanly(tmp_path: Path) -> None:
    """The relay of a second stop request (SIGUSR2) reaches pytest before the scenario's teardown:
    the teardown still runs to its end (Allure-pytest-bdd closed the scenario twice and crashed with
    an AttributeError, exit 1), undoes nothing, and the journal keeps it for the next run."""
    reports = tmp_path / "reports"
    with mock_thread() as base:
        before = agent_state(base)
        run = start(base, reports, "-k", SCENARIO[BLOCK], pause_after=BLOCK)
        wait_for((reports / "paused").exists, "the run to block the agent")
        signal_run(run, signal.SIGUSR2, "pytest")
        output, _ = run.communicate(timeout=TIMEOUT)
        assert run.returncode == 2, output[-3000:]
        assert "Traceback" not in output, output[-5000:]
        assert "-> exit 2 (interrupted); LUCS STATE NOT RESTORED" in output
        assert "unblock sip:smoky.cc@dev.local: cut short by a second interrupt" in output
        assert agent_state(base)[0], "the agent stays blocked: nothing was undone"
        repaired = run_wrapper("restore", "--lucs-base-url", base, env=TARGET_ENV, timeout=TIMEOUT)
        assert repaired.returncode == 0, repaired.stdout[-3000:] + repaired.stderr[-3000:]
        assert agent_state(base) == before
