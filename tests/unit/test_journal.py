"""The restore journal: on disk before the change, crossed out after the undo, left for the next
run when its process dies, and never taken from a run that is still alive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lucs_harness.journal import Journal, Undo, leftovers, read_undos
from lucs_harness.restore import RestoreRegistry


def test_an_undo_is_on_disk_before_the_change_and_crossed_out_after(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "http://lucs")
    registry = RestoreRegistry(lambda undo, seconds_left: None, journal)
    undo = registry.register("unblock a", "unblock_user", {"userId": "a"})
    assert read_undos(journal.path) == [undo]
    registry.restore_all()
    assert read_undos(journal.path) == []
    journal.close()
    assert list(tmp_path.iterdir()) == []  # all undone: nothing left behind


def test_what_failed_to_undo_stays_for_the_next_run(tmp_path: Path) -> None:
    def refuse(undo: Undo, seconds_left: float | None) -> None:
        raise ConnectionError("LUCS is down")

    journal = Journal(tmp_path, "http://lucs")
    registry = RestoreRegistry(refuse, journal)
    registry.register("unblock a", "unblock_user", {"userId": "a"})
    assert registry.restore_all() == [
        "unblock a: ConnectionError: LUCS is down; kept in the restore journal for the next run"
    ]
    journal.close()
    [left] = list(leftovers(tmp_path))
    assert [u.description for u in left.undos] == ["unblock a"]
    left.release(finished=True)
    assert list(tmp_path.glob("*.jsonl")) == []


def test_a_live_runs_journal_is_not_taken(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "http://lucs")
    journal.add(Undo("unblock a", "unblock_user", {"userId": "a"}))
    assert list(leftovers(tmp_path)) == []  # its lock is held: the run is alive
    journal.close()


def test_a_killed_process_leaves_its_journal_to_the_next_run(tmp_path: Path) -> None:
    script = f"""
import os, signal
from pathlib import Path
from lucs_harness.journal import Journal, Undo
journal = Journal(Path({str(tmp_path)!r}), "http://lucs")
journal.add(Undo("close task t", "close_task", {{"taskIdentifier": "t"}}, gone=(404,)))
os.kill(os.getpid(), signal.SIGKILL)
"""
    subprocess.run([sys.executable, "-c", script], check=False, timeout=30)
    [left] = list(leftovers(tmp_path))
    assert left.undos[0].operation == "close_task"
    assert left.undos[0].gone == (404,)
    left.release(finished=False)
    assert len(list(tmp_path.glob("*.jsonl"))) == 1  # kept: not undone yet


def test_a_line_cut_short_by_a_kill_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    whole = json.dumps({"add": {"description": "unblock a", "operation": "unblock_user", "params": {}, "id": "1"}})
    path.write_text(whole + "\n" + whole[: len(whole) // 2])
    assert [u.id for u in read_undos(path)] == ["1"]
