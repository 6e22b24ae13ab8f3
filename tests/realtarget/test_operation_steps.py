"""Operation steps against `lucs-mock serve` as a real LUCS: the changes they make are undone after
each scenario, and a change's undo is in the restore journal (a file in the test's folder) while
the change stands, so a run killed right after it is repaired by `lucs-acceptance restore`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from lucs_harness.config import LucsConfig
from lucs_harness.journal import journal_folder
from tests.realtarget.support import (
    AGENT,
    acceptance,
    agent_state,
    mock_thread,
    run_suite,
    session_processes,
    signal_run,
    wait_for,
)
from tests.support.journals import SMOKY_CC
from tests.support.suite import ROOT, child_env

BLOCK = 'I call "block_user" for the target user'
SELECTED = "--lucs-tags=@story:operation-steps"
TIMEOUT = 60


def open_callbacks(base: str) -> list[str]:
    """The ExternalTaskIds of the callbacks the mock holds that are not cancelled or done."""
    callbacks = requests.get(f"{base}/_mock/state", timeout=5).json()["callbacks"]
    return [c["ExternalTaskId"] for c in callbacks if c["State"] not in ("Terminated", "Done")]


def journal_entries(folder: Path, base: str) -> list[dict[str, Any]]:
    """Every entry of the target's journal files in `folder`, as written."""
    target = journal_folder(base, LucsConfig().service_id, str(folder))
    return [json.loads(line) for path in sorted(target.glob("*.jsonl")) for line in path.read_text().splitlines()]


def test_the_operations_feature_leaves_the_target_as_found(tmp_path: Path) -> None:
    with mock_thread() as base:
        before = agent_state(base)
        done = run_suite("--lucs-base-url", base, "--lucs-allow-changes", SELECTED, env=_journal(tmp_path))
        assert done.returncode == 0, done.stdout[-3000:]
        assert "5 passed" in done.stdout
        assert agent_state(base) == before  # the block by the operation's name was undone
        assert open_callbacks(base) == []  # and both callbacks were cancelled
        assert journal_entries(tmp_path / "journals", base) == []  # every undo done: the journal is gone


def test_the_undo_is_journaled_while_the_change_stands_and_a_later_run_replays_it(tmp_path: Path) -> None:
    with mock_thread() as base:
        paused = tmp_path / "paused"
        env = _journal(tmp_path) | {"LUCS_TEST_PAUSE_AFTER": BLOCK, "LUCS_TEST_PAUSED": str(paused)}
        run = acceptance(
            "--reports-dir", str(tmp_path / "reports"), "--no-html", "--", "--lucs-base-url", base,
            "--lucs-allow-changes", "-p", "tests.realtarget.pause_plugin", SELECTED, env=env,
        )  # fmt: skip
        wait_for(paused.exists, "the block to be sent")
        assert agent_state(base)[0]  # blocked, and meanwhile its undo is on disk, sealed:
        [entry] = [entry["add"] for entry in journal_entries(tmp_path / "journals", base) if "add" in entry]
        assert (entry["operation"], entry["params"], entry["sip"]) == ("unblock_user", {"userId": SMOKY_CC}, AGENT)
        signal_run(run, signal.SIGKILL, "all")
        run.wait(timeout=TIMEOUT)
        wait_for(lambda: not session_processes(run.pid), "every process of the run to die")
        assert agent_state(base)[0]  # the kill left the agent blocked
        repaired = subprocess.run(
            [sys.executable, "-m", "lucs_harness.cli", "restore", "--lucs-base-url", base],
            cwd=ROOT, env=child_env(**_journal(tmp_path)), capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        assert repaired.returncode == 0, repaired.stdout[-3000:] + repaired.stderr[-3000:]
        assert f"undone: unblock {AGENT} (user {SMOKY_CC})" in repaired.stdout
        assert not agent_state(base)[0]


def _journal(folder: Path) -> dict[str, str]:
    """The runs' restore journal in the test's own folder."""
    return {"LUCS_JOURNAL_DIR": str(folder / "journals")}
