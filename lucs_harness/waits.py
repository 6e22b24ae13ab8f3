"""Wait for a state with a deadline and a short poll, instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from lucs_harness.errors import StateNotReached

T = TypeVar("T")


def holds_for(
    probe: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    duration: float,
    interval: float,
    expected: str,
    describe: Callable[[T], str] = repr,
) -> T:
    """Call `probe` for `duration` seconds (at least once) and fail the first time `accept` says no:
    a state that must *stay*, such as a task nobody may take."""
    started = time.monotonic()
    while True:
        value = probe()
        held = time.monotonic() - started
        if not accept(value):
            raise StateNotReached(f"{expected}: broken after {held:.2f} s; observed: {describe(value)}")
        if held >= duration:
            return value
        time.sleep(min(interval, max(0.0, duration - held)))


def wait_until(
    probe: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    timeout: float,
    interval: float,
    expected: str,
    describe: Callable[[T], str] = repr,
) -> T:
    """Call `probe` until `accept` says yes or `timeout` seconds pass; the first probe is immediate."""
    started = time.monotonic()
    polls = 0
    while True:
        value = probe()
        polls += 1
        if accept(value):
            return value
        waited = time.monotonic() - started
        if waited >= timeout:
            raise StateNotReached(
                f"{expected}: not reached within {timeout:g} s (waited {waited:.2f} s, {polls} polls); "
                f"last observed: {describe(value)}"
            )
        time.sleep(min(interval, max(0.0, timeout - waited)))
