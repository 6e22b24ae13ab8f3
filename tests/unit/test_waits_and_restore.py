"""Waits poll to a deadline and report the last value; restores run newest first and keep failures."""

from __future__ import annotations

import itertools
import time

import pytest

from lucs_harness.client import LucsClient
from lucs_harness.config import LucsConfig
from lucs_harness.errors import StateNotReached
from lucs_harness.journal import Undo
from lucs_harness.restore import RestoreRegistry
from lucs_harness.waits import holds_for, wait_until
from tests.realtarget.misbehaving import silent_server
from tests.support.restores import timed_restore


def test_a_wait_returns_as_soon_as_the_state_is_reached() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter), lambda v: v >= 3, timeout=5, interval=0.001, expected="three") == 3


def test_a_wait_that_times_out_names_the_last_value_and_the_time() -> None:
    with pytest.raises(
        StateNotReached,
        match=r"state 'done': not reached within 0.05 s \(waited 0.0\d s, \d+ polls\); last observed: 'pending'",
    ):
        wait_until(lambda: "pending", lambda v: v == "done", timeout=0.05, interval=0.01, expected="state 'done'")


def test_a_hold_watches_for_its_whole_duration_and_fails_at_the_first_break() -> None:
    held = holds_for(lambda: "pending", lambda v: v == "pending", duration=0.05, interval=0.01, expected="x")
    assert held == "pending"
    values = iter(["pending", "pending", "offered"])
    with pytest.raises(StateNotReached, match=r"task pending: broken after 0\.\d\d s; observed: 'offered'"):
        holds_for(lambda: next(values), lambda v: v == "pending", duration=5, interval=0.001, expected="task pending")
    calls = iter(["offered"])
    with pytest.raises(StateNotReached):  # a zero duration still looks once
        holds_for(lambda: next(calls), lambda v: v == "pending", duration=0, interval=0.01, expected="task pending")


def _registry(done: list[str]) -> RestoreRegistry:
    """A registry whose undos are recorded by description; an undo named "broken" fails."""

    def perform(undo: Undo, seconds_left: float | None) -> None:
        if undo.description == "broken":
            raise ZeroDivisionError("division by zero")
        done.append(undo.description)

    return RestoreRegistry(perform)


def test_restores_run_newest_first_and_failures_are_kept() -> None:
    done: list[str] = []
    registry = _registry(done)
    for name in ("first", "broken", "last"):
        registry.register(name, "unblock_user", {"userId": name})
    failed = registry.restore_all()
    assert done == ["last", "first"]
    assert failed == ["broken: ZeroDivisionError: division by zero"]
    assert registry.failures == failed
    assert registry.restore_all() == []


def test_a_discarded_undo_is_not_run() -> None:
    done: list[str] = []
    registry = _registry(done)
    registry.discard(registry.register("never", "unblock_user", {"userId": "x"}))
    assert registry.restore_all() == []
    assert done == []


def test_a_passed_deadline_leaves_the_rest_unattempted() -> None:
    done: list[str] = []
    registry = _registry(done)
    registry.register("first", "unblock_user", {"userId": "a"})
    assert registry.restore_all(deadline=time.monotonic() - 1) == ["first: not attempted, the restore deadline passed"]
    assert done == []


def test_a_restore_cut_short_before_it_began_undoes_nothing() -> None:
    """A second stop request before the teardown: every undo is left (journaled) and said."""
    done: list[str] = []
    registry = _registry(done)
    registry.register("first", "unblock_user", {"userId": "a"})
    registry.register("last", "unblock_user", {"userId": "b"})
    registry.cut_short = True
    assert registry.restore_all() == ["last: cut short by a second interrupt", "first: cut short by a second interrupt"]
    assert done == []


def test_the_restore_ends_by_its_deadline_against_a_server_that_never_answers() -> None:
    with silent_server() as base:
        client = LucsClient(LucsConfig(read_timeout=30), base)
        failed, elapsed = timed_restore(client, within=1.0)
        client.close()
    assert elapsed < 2.0, elapsed  # not 3 x 30 s of read timeout
    assert len(failed) == 3
    assert "not attempted, the restore deadline passed" in failed[-1]
