"""How a stop request is counted and where it raises: once per request, never inside the
bookkeeping of another, a second one cutting a restore short."""

from __future__ import annotations

import signal
import time

import pytest

from lucs_harness.errors import RunInterrupted
from lucs_harness.interrupts import SAME_REQUEST_SECONDS, Interrupts


def test_a_relay_right_behind_the_users_signal_is_one_request_and_raises_once() -> None:
    interrupts = Interrupts()
    done: list[int] = []

    def listener(level: int) -> None:
        interrupts._handle(signal.SIGUSR1, None)  # the relay lands while the first is being handled
        done.append(level)

    interrupts.listeners.append(listener)
    with pytest.raises(RunInterrupted, match="SIGTERM"), interrupts.raising():
        interrupts._handle(signal.SIGTERM, None)
    assert done == [1]  # the bookkeeping ran to its end, the relay counted nothing more
    assert interrupts.level == 1


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The interrupts' monotonic clock, moved by hand."""
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


def test_a_first_request_lets_a_restore_finish_and_a_second_cuts_it_short(clock: list[float]) -> None:
    interrupts = Interrupts()
    with interrupts.shielded(), interrupts.raising():
        interrupts._handle(signal.SIGINT, None)  # no raise: the restore goes on
        clock[0] += SAME_REQUEST_SECONDS + 0.1
        with pytest.raises(RunInterrupted, match="cut short"):
            interrupts._handle(signal.SIGINT, None)
    assert interrupts.cut_short


def test_the_same_signal_to_the_process_and_its_group_is_one_request(clock: list[float]) -> None:
    """`timeout 600 pytest`: GNU timeout signals pytest, then its process group; within the window
    it is one request, the restore goes on; the user's signal after it is a second."""
    interrupts = Interrupts()
    with interrupts.shielded(), interrupts.raising():
        interrupts._handle(signal.SIGTERM, None)
        clock[0] += 0.01
        interrupts._handle(signal.SIGTERM, None)
        clock[0] += SAME_REQUEST_SECONDS / 2
        interrupts._handle(signal.SIGINT, None)
        assert (interrupts.level, interrupts.cut_short) == (1, False)
        clock[0] += SAME_REQUEST_SECONDS
        with pytest.raises(RunInterrupted, match="cut short"):
            interrupts._handle(signal.SIGINT, None)


def test_a_restore_cut_short_before_it_began_is_entered_all_the_same() -> None:
    """Its teardown must run to its end (plugins close the scenario there); the restore itself
    undoes nothing (`RestoreRegistry.cut_short`)."""
    interrupts = Interrupts()
    interrupts.request(2, "SIGINT")
    with interrupts.shielded(), interrupts.raising():
        entered = True
    assert entered
    with pytest.raises(RunInterrupted), interrupts.raising():  # a scenario's call does not start
        pass


def test_a_request_outside_a_scenario_only_stops_the_run() -> None:
    interrupts = Interrupts()
    interrupts._handle(signal.SIGINT, None)
    assert interrupts.stopping
    with pytest.raises(RunInterrupted), interrupts.raising():  # the next scenario does not start
        pass
