"""Interrupted right after it changed an agent, a run still leaves LUCS as it found it."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from lucs_harness.mock.control import MockControl
from lucs_harness.suite import ROOT, child_env, suite_command
from tests.realtarget.support import mock_process

CURT = "sip:smoky.cc@dev.local"


def curt(control: MockControl) -> dict[str, object]:
    user: dict[str, object] = next(u for u in control.state()["users"] if u["SipUri"] == CURT)
    return user


@pytest.mark.parametrize(
    ("scenario", "step", "changed", "sig"),
    [
        ("blocking_takes", "I block the target user", {"Blocked": True}, signal.SIGINT),
        (
            "setting_the_presence",
            'I set the presence of the target user to "DoNotDisturb"',
            {"PresenceState": "DoNotDisturb"},
            signal.SIGTERM,
        ),
        (
            "a_task_for_a_blocked",
            "I post an external task that prefers only the target user",
            {"Blocked": True},
            signal.SIGINT,
        ),
    ],
)
def test_an_interrupted_run_restores_the_agent(
    tmp_path: Path, scenario: str, step: str, changed: dict[str, object], sig: signal.Signals
) -> None:
    paused = tmp_path / "paused"
    with mock_process() as base:
        control = MockControl(base)
        before = curt(control)
        command = suite_command(
            "-p", "tests.realtarget.pause_plugin", "-k", scenario, "--lucs-base-url", base, "--lucs-allow-changes"
        )
        env = child_env(LUCS_TEST_PAUSE_AFTER=step, LUCS_TEST_PAUSED=str(paused))
        run = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while not paused.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert paused.exists(), run.communicate(timeout=30)[0][-3000:]
        assert {k: curt(control)[k] for k in changed} == changed  # the change really happened
        run.send_signal(sig)
        output, _ = run.communicate(timeout=30)
        assert run.returncode != 0, output[-3000:]
        after = curt(control)
        assert (after["Blocked"], after["PresenceState"], after["TaskId"]) == (False, before["PresenceState"], None), (
            output[-3000:]
        )
        assert all(task["State"] == "Closed" for task in control.state()["tasks"]), output[-3000:]
        assert "LUCS STATE NOT RESTORED" not in output
