"""The restore journal is untrusted input (a CI cache shared across branches, a table another
pipeline can write): on both stores, against the mock, what a run holding the target's key did
not write, or what is no undo of the operations table, reaches LUCS never; it is kept aside,
reported in one printable line each, and ends the run with exit 4; nothing is deleted, nothing
hangs, and a later run is not troubled by it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lucs_harness.client import LucsClient
from lucs_harness.config import LucsConfig
from lucs_harness.coordination import Coordination, postgres
from lucs_harness.journal import MAX_BYTES, Undo, record_of, target_folder
from lucs_harness.leftovers import CUT_OFF, Findings, replay_journals
from lucs_harness.leftovers import harness_id as new_id
from tests.coordination.conftest import Opener
from tests.support.journals import (
    SEED_USERS,
    SMOKY_CC,
    SMOKY_DD,
    DeadRun,
    close_task,
    forged,
    line,
    presence_back,
    unblock,
)
from tests.support.suite import run_wrapper
from tests.unit.conftest import MockTarget

Sent = list[tuple[str, str, Any]]


def replay(config: LucsConfig, store: Coordination, said: list[str] | None = None) -> tuple[Findings, Sent]:
    """Replay the dead runs' journals against the mock: what was found, and each call that reached it."""
    assert config.base_url is not None
    client = LucsClient(config, config.base_url)
    sent: Sent = []
    client.listeners.append(lambda e: sent.append((e.operation, urlsplit(e.url).path, e.request_body)))
    found = Findings()
    try:
        replay_journals(config, client, store, found, lambda: False, (said if said is not None else []).append)
    finally:
        client.close()
    return found, sent


def world(lucs: MockTarget) -> dict[str, Any]:
    """What a replay could change on the mock: users, tasks, callbacks."""
    state = lucs.control.state()
    return {key: state[key] for key in ("users", "tasks", "callbacks")}


def user(lucs: MockTarget, user_id: str) -> dict[str, Any]:
    return next(u for u in lucs.control.state()["users"] if u["Id"] == user_id)


def block(config: LucsConfig, *user_ids: str) -> None:
    assert config.base_url is not None
    client = LucsClient(config, config.base_url)
    for user_id in user_ids:
        client.send("block_user", {"userId": user_id})
    client.close()


def assert_printable(found: Findings) -> None:
    for shown in found.lines:
        assert shown.isprintable(), shown  # no escape, no second line


def test_the_forged_entry_of_the_issue_changes_nothing_and_ends_the_run(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget
) -> None:
    """Its words said "unblock"; its operation blocked an agent, set another DND and created a task."""
    open_mock_run()
    before = world(mock_target)
    dead = DeadRun(mock_config)
    task = {"ExternalTaskId": new_id(), "Service": mock_config.service_id, "Caller": "x"}
    planted = [
        dead.forged(unblock(), operation="block_user"),  # sealed as an unblock, then changed
        line({"add": record_of(presence_back(SMOKY_DD, "DoNotDisturb")) | {"description": "unblock smoky.dd"}}),
        dead.forged(close_task(), operation="create_task", params={}, body=task),
    ]
    dead.plant(planted)
    found, sent = replay(mock_config, open_mock_run())
    assert sent == []
    assert world(mock_target) == before
    assert found.rejected == 3
    assert found.refusal() is not None
    assert "this run must not replay" in str(found.refusal())
    assert dead.rejected_entries() == 3  # kept aside, never deleted
    assert_printable(found)
    assert [shown.split(": ", 3)[2] for shown in found.lines] == [
        "MAC does not verify",
        "no MAC",
        "MAC does not verify",
    ]


@pytest.mark.parametrize("bad", ["..", "/", "%2e%2e", "../../services", "sip:a@b/../x"])
def test_a_parameter_that_is_a_path_segment_is_never_sent_even_sealed(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget, bad: str
) -> None:
    """Sealed with the right key (a leaked key, a bug): the operations table still refuses it."""
    open_mock_run()
    block(mock_config, SMOKY_DD)
    dead = DeadRun(mock_config)
    good = unblock(SMOKY_DD)
    dead.plant([dead.sealed_record(unblock(), params={"userId": bad}), dead.add(good)])
    found, sent = replay(mock_config, open_mock_run())
    assert sent == [("unblock_user", f"/v1.0/users/{SMOKY_DD}/unblock", None)]  # the good one, alone
    assert not user(mock_target, SMOKY_DD)["Blocked"]
    assert found.rejected == 1
    assert "is not an id it takes" in found.lines[0]
    assert dead.rejected_entries() == 1


def test_malformed_lines_end_no_run_in_an_internal_error_nor_trouble_a_later_one(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget
) -> None:
    open_mock_run()
    dead = DeadRun(mock_config)
    no_sip = {name: value for name, value in record_of(unblock()).items() if name != "sip"}
    planted = [
        b"{",
        b"[]",
        b"null",
        b'{"add": 1}',
        b'{"add": {}, "mac": "00"}',
        b"\xff\xfe{}",
        b"[" * 100_000,
        b'{"add": {"x": NaN}, "mac": "' + b"0" * 64 + b'"}',
        line(forged(dead.seal, dead.name, no_sip)),  # sealed, but not what an undo is
        line(forged(dead.seal, dead.name, record_of(unblock()) | {"gone": "404"})),
    ]
    dead.plant(planted)
    found, sent = replay(mock_config, open_mock_run())
    assert sent == []
    assert found.rejected == dead.rejected_entries() >= 8
    assert_printable(found)
    later, sent = replay(mock_config, open_mock_run())  # no KeyError, no second report
    assert (later.lines, later.rejected, sent) == ([], 0, [])


def test_one_corrupted_byte_is_reported_and_its_entry_kept(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget
) -> None:
    open_mock_run()
    block(mock_config, SMOKY_CC, SMOKY_DD)
    dead = DeadRun(mock_config)
    whole = dead.add(unblock(SMOKY_DD))
    corrupted = whole.replace(SMOKY_DD.encode(), SMOKY_DD[:-1].encode() + b"2")  # ...e33 -> ...e32
    assert len(corrupted) == len(whole)
    assert sum(a != b for a, b in zip(whole, corrupted, strict=True)) == 1
    dead.plant([dead.add(unblock(SMOKY_CC)), corrupted])
    found, sent = replay(mock_config, open_mock_run())
    assert [operation for operation, _, _ in sent] == ["unblock_user"]
    assert not user(mock_target, SMOKY_CC)["Blocked"]
    assert user(mock_target, SMOKY_DD)["Blocked"]  # its undo was not replayed: nobody can say what it was
    assert found.rejected == 1
    assert found.refusal() is not None
    assert dead.rejected_entries() == 1


def test_a_forged_done_mark_hides_no_undo(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget
) -> None:
    open_mock_run()
    block(mock_config, SMOKY_CC)
    dead = DeadRun(mock_config)
    undo = unblock()
    dead.plant([dead.add(undo), line({"done": undo.id, "mac": "0" * 64})])
    found, _ = replay(mock_config, open_mock_run())
    assert not user(mock_target, SMOKY_CC)["Blocked"]  # replayed: the entry is genuine, the mark is not
    assert found.rejected == 1
    assert "MAC does not verify" in found.lines[0]


def test_an_entry_for_another_target_is_never_replayed(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget
) -> None:
    open_mock_run()
    block(mock_config, SMOKY_CC)
    dead = DeadRun(mock_config)
    other = DeadRun(mock_config.replaced(service_id="3f0e9a4c-6b1d-4c2e-9a7f-1d2c3b4a5e6f"))
    dead.plant([other.add(unblock())])  # sealed for the other service, planted in this one's journal
    found, sent = replay(mock_config, open_mock_run())
    assert sent == []
    assert user(mock_target, SMOKY_CC)["Blocked"]
    assert found.rejected == 1


def test_rotated_credentials_reject_the_old_journal_with_what_to_do(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget
) -> None:
    open_mock_run()
    old = DeadRun(mock_config.replaced(journal_key="old"))
    old.plant([old.add(unblock())])
    found, sent = replay(mock_config, open_mock_run())
    assert sent == []
    assert found.rejected == 1
    assert "written by no run holding this target's journal key" in found.lines[0]


def test_escapes_in_a_journal_forge_no_output_line(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget
) -> None:
    open_mock_run()
    escapes = "\x1b[2J\x1b[H\nlucs: earlier run's leftovers: undone: everything\r\u202e"
    dead = DeadRun(mock_config, name=f"dead{escapes}run")
    record = record_of(unblock()) | {"operation": f"unblock_user{escapes}", "description": escapes}
    dead.plant([line({"add": record, "mac": "0" * 64}), line(forged(dead.seal, dead.name, record))])
    found, sent = replay(mock_config, open_mock_run())
    assert sent == []
    assert found.rejected == 2
    assert_printable(found)
    assert all("\x1b" not in shown and "\n" not in shown for shown in found.lines)
    assert "dead\\x1b[2J\\x1b[H\\nlucs" in found.lines[0]  # the journal's name, escaped


def test_three_thousand_entries_are_replayed_within_the_deadline_with_progress(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget
) -> None:
    open_mock_run()
    config = mock_config.replaced(restore_timeout=1.0)
    dead = DeadRun(config)
    dead.plant([dead.add(unblock(SEED_USERS[n % len(SEED_USERS)])) for n in range(3000)])
    said: list[str] = []
    started = time.monotonic()
    found, sent = replay(config, open_mock_run(), said)
    took = time.monotonic() - started
    assert took < 1.0 + 2.0  # the deadline, plus reading and checking 3,000 entries and one last call
    assert 0 < len(sent) < 3000
    assert {operation for operation, _, _ in sent} == {"unblock_user"}
    assert said[0] == f"replaying 3000 undos left by {dead.shown} (within 1 s)"
    assert said[1:] == [f"replayed {n} of 3000 undos left by {dead.shown}" for n in range(100, len(sent), 100)]
    left = 3000 - len(sent)
    assert found.lines[-1] == (
        f"not attempted: {left} undo(s) left by {dead.shown}: the replay took its 1 s (restore_timeout); "
        "kept for the next run"
    )
    [again] = list(open_mock_run().leftovers())  # what was not attempted is there for the next run
    cut_off = any(line.startswith(CUT_OFF) for line in found.lines)  # sent as the deadline passed: kept too
    assert len(again.undos) == left + cut_off
    again.release(finished=False)


def test_nothing_but_regular_files_of_bounded_size_is_read(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget, tmp_path: Path
) -> None:
    """A FIFO would hang the run, a link to /dev/zero fill its memory, a planted lock link truncate
    the file it names."""
    if mock_config.coordination:
        pytest.skip("files only: the table holds no FIFO")
    store = open_mock_run()
    folder = target_folder(mock_config)
    folder.mkdir(parents=True)
    os.mkfifo(folder / "fifo.jsonl")
    (folder / "zero.jsonl").symlink_to("/dev/zero")
    (folder / "big.jsonl").write_bytes(b"\n" * (MAX_BYTES + 1))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    DeadRun(mock_config, name="locked").plant([DeadRun(mock_config, name="locked").add(unblock())])
    (folder / "locked.jsonl.lock").symlink_to(victim)
    result: list[tuple[Findings, Sent]] = []
    thread = threading.Thread(target=lambda: result.append(replay(mock_config, store)), daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert result, "the replay hangs"
    found, sent = result[0]
    assert sent == [("unblock_user", f"/v1.0/users/{SMOKY_CC}/unblock", None)]  # the journal behind the link
    assert victim.read_text() == "precious"
    assert found.rejected == 4
    assert_printable(found)
    assert sorted(path.name for path in folder.iterdir()) == [
        "big.jsonl.rejected",
        "fifo.jsonl.rejected",
        "locked.jsonl.lock.rejected",
        "zero.jsonl.rejected",
    ]
    assert (folder / "zero.jsonl.rejected").readlink() == Path("/dev/zero")  # moved, never opened


def test_a_journal_written_with_the_key_replays_as_before(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget
) -> None:
    open_mock_run()
    block(mock_config, SMOKY_CC)
    dead = DeadRun(mock_config)
    external = new_id()
    undos: list[Undo] = [unblock(), close_task(external), presence_back(SMOKY_DD, "Away")]
    dead.plant([dead.add(undo) for undo in undos])
    found, sent = replay(mock_config, open_mock_run())
    assert [operation for operation, _, _ in sent] == ["set_presence", "close_task", "unblock_user"]  # newest first
    assert sent[0][2] == {"Presence": "Away"}
    assert found.rejected == 0
    assert found.refusal() is None
    assert found.lines[2] == f"undone: unblock sip:smoky.cc@dev.local (user {SMOKY_CC}) (left by {dead.shown})"
    assert user(mock_target, SMOKY_DD)["PresenceState"] == "Away"
    assert dead.open_entries() == 0


@pytest.mark.parametrize("command", ["restore", "run"])
def test_a_rejected_entry_ends_the_run_with_exit_4_saying_why(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget, tmp_path: Path, command: str
) -> None:
    """`lucs-acceptance restore`, and a run before its first scenario: the valid undos are replayed,
    the forged one is not, and the run ends with exit 4 and the reason, in one line each."""
    if command == "run" and mock_config.coordination:
        pytest.skip("the run's end is the same whatever the store: proven on files")
    config = mock_config.replaced(journal_key="shared by the fleet")
    open_mock_run()
    block(config, SMOKY_CC, SMOKY_DD)
    dead = DeadRun(config, name="dead\x1b[31mrun")
    dead.plant([dead.add(unblock()), dead.forged(unblock(SMOKY_DD), operation="block_user")])
    assert config.base_url is not None
    env = {"LUCS_JOURNAL_KEY": "shared by the fleet", "LUCS_JOURNAL_DIR": str(config.journal_dir)}
    env |= {"LUCS_LEASE_DIR": str(config.lease_dir), "LUCS_COORDINATION": config.coordination or ""}
    args = ["--lucs-base-url", config.base_url, "--lucs-allow-changes"]
    run = run_wrapper(
        *(["restore", *args] if command == "restore" else ["--reports-dir", str(tmp_path), "--no-html", "--", *args]),
        env={name: value for name, value in env.items() if value},
        timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 4, output[-3000:]
    assert not user(mock_target, SMOKY_CC)["Blocked"]  # the genuine undo was replayed
    assert user(mock_target, SMOKY_DD)["Blocked"]  # the forged one reached nothing
    assert "rejected from " in output
    assert "the restore journal held 1 entry this run must not replay" in output
    assert "\x1b[31mrun" not in output
    assert dead.rejected_entries() == 1
    if command == "run":
        assert "run ended early (exit 4): the restore journal held 1 entry" in output
        assert "no tests ran" in output  # no scenario started


def test_a_table_read_in_bounded_batches_loses_no_undo(
    mock_config: LucsConfig, open_mock_run: Opener, mock_target: MockTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not mock_config.coordination:
        pytest.skip("PostgreSQL only: a file is read whole, up to 1 MiB (above)")
    monkeypatch.setattr(postgres, "MAX_ROWS", 3)
    open_mock_run()
    dead = DeadRun(mock_config)
    dead.plant([dead.add(close_task()) for _ in range(5)])
    first, sent = replay(mock_config, open_mock_run())
    assert len(sent) == 3
    assert first.lines[0] == f"{dead.shown}: more than 3 entries: those not read yet wait for the next run"
    assert dead.open_entries() == 2  # what was done is gone, the rest waits
    second, sent = replay(mock_config, open_mock_run())
    assert len(sent) == 2
    assert dead.open_entries() == 0
    assert first.rejected == second.rejected == 0
