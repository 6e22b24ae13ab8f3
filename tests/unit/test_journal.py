"""The restore journal: on disk before the change, crossed out after the undo, left for the next
run when its process dies, and never taken from a run that is still alive. What it may hold is
what the operations table calls an undo, sealed with the target's key; the key comes from the
run's secrets, or a key file of the user's own."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lucs_harness.config import LucsConfig
from lucs_harness.coordination import files
from lucs_harness.coordination.files import Journal, leftovers, read_journal
from lucs_harness.errors import JournalKeyError, Rejected
from lucs_harness.journal import MAX_BYTES, Lookup, Seal, Undo, check, describe, printable, record_of, undo_of
from lucs_harness.journal_key import journal_seal, key_file, key_file_secret, target_key
from lucs_harness.leftovers import harness_id
from lucs_harness.operations import OPERATIONS, PARAMETER_PATTERNS
from lucs_harness.restore import RestoreRegistry
from tests.support.journals import SMOKY_CC, cancel_callback, close_task, presence_back, unblock

SEAL = Seal(b"k" * 32, "0123456789abcdef")


def test_an_undo_is_on_disk_before_the_change_and_crossed_out_after(tmp_path: Path) -> None:
    journal = Journal(tmp_path, SEAL)
    registry = RestoreRegistry(lambda undo, seconds_left: None, journal)
    undo = registry.register("unblock a", "unblock_user", {"userId": SMOKY_CC}, sip="sip:a@dev.local")
    assert [u.id for u in read_journal(journal.path, SEAL).undos] == [undo.id]
    registry.restore_all()
    assert read_journal(journal.path, SEAL).undos == []
    journal.close()
    assert list(tmp_path.iterdir()) == []  # all undone: nothing left behind


def test_what_failed_to_undo_stays_for_the_next_run(tmp_path: Path) -> None:
    def refuse(undo: Undo, seconds_left: float | None) -> None:
        raise ConnectionError("LUCS is down")

    journal = Journal(tmp_path, SEAL)
    registry = RestoreRegistry(refuse, journal)
    registry.register("unblock a", "unblock_user", {"userId": SMOKY_CC})
    assert registry.restore_all() == [
        "unblock a: ConnectionError: LUCS is down; kept in the restore journal for the next run"
    ]
    journal.close()
    [left] = list(leftovers(tmp_path, SEAL))
    assert [u.description for u in left.undos] == [f"unblock user {SMOKY_CC}"]  # derived, not read
    left.release(finished=True)
    assert list(tmp_path.glob("*.jsonl")) == []


def test_a_live_runs_journal_is_not_taken(tmp_path: Path) -> None:
    journal = Journal(tmp_path, SEAL)
    journal.add(unblock())
    assert list(leftovers(tmp_path, SEAL)) == []  # its lock is held: the run is alive
    journal.close()


def test_a_killed_process_leaves_its_journal_to_the_next_run(tmp_path: Path) -> None:
    external = harness_id()
    script = f"""
import os, signal
from pathlib import Path
from lucs_harness.coordination.files import Journal
from lucs_harness.journal import Seal, Undo
journal = Journal(Path({str(tmp_path)!r}), Seal(b"k" * 32, "0123456789abcdef"))
journal.add(Undo("close task t", "close_task", {{"taskIdentifier": {external!r}}}, gone=(404,)))
os.kill(os.getpid(), signal.SIGKILL)
"""
    subprocess.run([sys.executable, "-c", script], check=False, timeout=30)
    [left] = list(leftovers(tmp_path, SEAL))
    assert left.undos[0].operation == "close_task"
    assert left.undos[0].gone == (404,)
    assert left.undos[0].description == f"close task {external}"
    left.release(finished=False)
    assert len(list(tmp_path.glob("*.jsonl"))) == 1  # kept: not undone yet


def test_a_line_cut_short_by_a_kill_is_not_replayed_and_kept_aside(tmp_path: Path) -> None:
    journal = Journal(tmp_path, SEAL)
    first, second = unblock(), close_task()
    journal.add(first)
    journal.add(second)
    whole = journal.path.read_bytes()
    journal.path.write_bytes(whole[: len(whole) - 20])  # the second entry's end never reached the disk
    journal.close()
    [left] = list(leftovers(tmp_path, SEAL))
    assert [u.id for u in left.undos] == [first.id]
    assert left.rejected == []  # a kill, not an attack: the run goes on
    assert left.notes == [f"a last line cut short by a kill (its change was never sent) moved to {left.name}.rejected"]
    left.cross_out(first)  # the done mark lands on a line of its own
    left.release(finished=False)
    assert read_journal(journal.path, SEAL).rejected == []


def test_a_long_runs_journal_is_compacted_to_its_open_undos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "COMPACT_AT", 4096)  # a 256 KiB journal takes a thousand fsyncs to fill
    journal = Journal(tmp_path, SEAL)
    kept = unblock()
    journal.add(kept)
    for _ in range(30):
        undo = close_task()
        journal.add(undo)
        journal.cross_out(undo)
    assert journal.path.stat().st_size < 4096
    assert files.COMPACT_AT < MAX_BYTES / 2
    assert [u.id for u in read_journal(journal.path, SEAL).undos] == [kept.id]
    journal.close()


def test_a_replay_cut_short_leaves_a_journal_of_what_is_left(tmp_path: Path) -> None:
    journal = Journal(tmp_path, SEAL)
    undos = [close_task() for _ in range(3)]
    for undo in undos:
        journal.add(undo)
    journal.close()
    [left] = list(leftovers(tmp_path, SEAL))
    left.cross_out(undos[2])
    left.release(finished=False)
    assert len(journal.path.read_bytes().splitlines()) == 2  # rewritten: the undone one and its mark are gone
    assert [u.id for u in read_journal(journal.path, SEAL).undos] == [u.id for u in undos[:2]]


def test_only_undos_of_the_operations_table_are_journaled(tmp_path: Path) -> None:
    journal = Journal(tmp_path, SEAL)
    registry = RestoreRegistry(lambda undo, seconds_left: None, journal)
    with pytest.raises(Rejected, match="'create_task' is no undo"):
        registry.register("close it", "create_task", {})
    with pytest.raises(Rejected, match=r"userId '\.\.' is not an id it takes"):
        registry.register("unblock", "unblock_user", {"userId": ".."})
    assert registry.pending == []  # refused: the change it guards must not be made
    journal.close()
    assert not journal.path.exists()


@pytest.mark.parametrize("value", ["..", ".", "a/b", "%2e%2e", "%2E%2e", "x/../y", "", " ", "sip:a@b/..", "\x1b[2J"])
def test_no_parameter_is_a_path_segment_of_its_own(value: str) -> None:
    for name, pattern in PARAMETER_PATTERNS.items():
        assert not pattern.fullmatch(value), name
    with pytest.raises(Rejected):
        check(Undo("", "unblock_user", {"userId": value}))


EXTERNAL = harness_id()
REFUSED = {
    "a body it takes none of": Undo("", "unblock_user", {"userId": SMOKY_CC}, {"Presence": "Online"}),
    "two presence fields": Undo("", "set_presence", {"userId": SMOKY_CC}, {"Presence": "a", "State": "b"}),
    "a presence that is no name": Undo("", "set_presence", {"userId": SMOKY_CC}, {"Presence": "On\nline"}),
    "a parameter it lacks": Undo("", "close_task", {}),
    "a parameter it has not": Undo("", "unblock_user", {"userId": SMOKY_CC, "serviceId": SMOKY_CC}),
    "a lookup of another operation": Undo(
        "", "cancel_callback", lookup=Lookup("service_tasks", {"serviceId": SMOKY_CC}, "Id", "callbackId")
    ),
    "a lookup without its parameter": Undo(
        "", "cancel_callback", lookup=Lookup("get_callback", {}, "Id", "callbackId")
    ),
    "no lookup where one is needed": Undo("", "cancel_callback"),
    "a gone status that is a success": Undo("", "close_task", {"taskIdentifier": EXTERNAL}, gone=(200,)),
    "a label that is no SIP URI": Undo("", "unblock_user", {"userId": SMOKY_CC}, sip="sip:\x1b[31m@x"),
    "a block of no user": Undo("", "block_user", {"userId": "../services"}),
}


def test_what_an_undo_may_hold_is_what_its_row_allows() -> None:
    check(close_task(EXTERNAL))
    by_id = Lookup("get_task", {"taskIdentifier": EXTERNAL}, "Id", "taskIdentifier")
    check(Undo("", "close_task", {"taskIdentifier": EXTERNAL}, lookup=by_id))
    check(cancel_callback())
    check(presence_back(presence="DoNotDisturb"))


@pytest.mark.parametrize("undo", list(REFUSED.values()), ids=list(REFUSED))
def test_what_its_row_does_not_allow_is_refused(undo: Undo) -> None:
    with pytest.raises(Rejected):
        check(undo)


def test_every_undo_of_the_table_reverses_an_operation_and_looks_up_with_one() -> None:
    undos = {name: op.undo for name, op in OPERATIONS.items() if op.undo is not None}
    assert sorted(undos) == ["block_user", "cancel_callback", "close_task", "set_presence", "unblock_user"]
    for rule in undos.values():
        assert rule.reverses in OPERATIONS
        for lookup in rule.lookups:
            assert OPERATIONS[lookup.operation].method == "GET"  # a lookup only reads
    assert OPERATIONS["cancel_callback"].undo is not None
    assert OPERATIONS["cancel_callback"].undo.gone == (404,)  # documented: cancelled already, or not found
    assert PARAMETER_PATTERNS["externalTaskId"].fullmatch(harness_id())


def test_the_description_comes_from_the_call_not_from_the_journal() -> None:
    undo = unblock()
    record = record_of(undo)
    assert "description" not in record
    assert undo_of(record).description == f"unblock sip:smoky.cc@dev.local (user {SMOKY_CC})"
    assert describe(presence_back(presence="Away")) == f"set presence of user {SMOKY_CC} back to Away"
    with pytest.raises(Rejected, match="not an undo record"):
        undo_of(record | {"description": "unblock"})


def test_printable_keeps_one_line_and_no_escape() -> None:
    shown = printable("a\x1b[2Jb\nlucs: undone: all\r\u202ec\u2028", 200)
    assert shown == "a\\x1b[2Jb\\nlucs: undone: all\\r\\u202ec\\u2028"
    assert shown.isprintable()
    assert printable("x" * 50, 10) == "xxxxxxxxxx... (50 characters)"


# ---- the key -------------------------------------------------------------------------------


def config(**settings: str) -> LucsConfig:
    return LucsConfig(base_url="https://lucs.example.test", **settings)


def test_the_key_comes_from_the_secrets_and_the_target() -> None:
    keyed = target_key(config(auth="apikey", api_key="k1"))
    assert keyed == target_key(config(auth="apikey", api_key="k1"))
    assert keyed != target_key(config(auth="apikey", api_key="k2"))  # rotated credentials: old entries rejected
    assert keyed != target_key(config(auth="apikey", api_key="k1", journal_key="fleet"))
    assert keyed != target_key(config(auth="apikey", api_key="k1", service_id="3f0e9a4c-6b1d-4c2e-9a7f-1d2c3b4a5e6f"))
    assert keyed != target_key(LucsConfig(base_url="https://other.example.test", auth="apikey", api_key="k1"))


def test_a_target_without_secrets_uses_a_key_file_only_its_user_can_read(tmp_path: Path) -> None:
    assert key_file().is_relative_to(Path(os.environ["XDG_CONFIG_HOME"]))
    path = tmp_path / "conf" / "journal.key"
    secret = key_file_secret(path)
    assert key_file_secret(path) == secret  # made once
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    with pytest.raises(JournalKeyError, match="only you can read"):
        key_file_secret(path)
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(JournalKeyError, match="set LUCS_JOURNAL_KEY"):
        key_file_secret(path)


def test_entries_sealed_for_another_target_or_key_do_not_verify(tmp_path: Path) -> None:
    mine, theirs = journal_seal(config(journal_key="a")), journal_seal(config(journal_key="b"))
    entry = theirs.add("run", unblock())
    with pytest.raises(Rejected, match="MAC does not verify"):
        mine.open("run", entry)
    with pytest.raises(Rejected, match="MAC does not verify"):
        theirs.open("another-run", entry)  # bound to its journal, too
    assert isinstance(theirs.open("run", entry), Undo)
