"""How a run stops when it is told to: SIGINT (Ctrl-C), SIGTERM (CI cancel) or SIGHUP (a closed
terminal or ssh session) ask the run to stop; a second one cuts the restore short.

A first signal aborts the scenario that is running (its restore still runs, in teardown) and no
new scenario starts; during a restore it only notes the request, so an undo is never cut in half.
A second signal also cuts the restore short: what is left stays in the restore journal for the
next run. SIGUSR1 and SIGUSR2 relay the first and second stop request (from `lucs-acceptance` to
pytest, from the xdist controller to its workers): idempotent, so a process that got the user's
signal too counts it once. Signals within SAME_REQUEST_SECONDS of each other are one request too:
GNU timeout, a CI job's timeout or `docker stop` signal a process and then its process group.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from lucs_harness.errors import RunInterrupted

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
RELAYED = {signal.SIGUSR1: 1, signal.SIGUSR2: 2}
CUT_SHORT = 2
# signals within this many seconds of the last stop request counted are that same request: a CI
# runner that signals every process reaches pytest both directly and through lucs-acceptance, and
# GNU timeout signals its child and then its own process group
SAME_REQUEST_SECONDS = 1.0


def relay_signal(level: int) -> signal.Signals:
    """The relay signal that asks for stop level `level` (1 = stop, 2 and more = cut short)."""
    return next(sig for sig, lvl in RELAYED.items() if lvl == min(level, CUT_SHORT))


@dataclass
class Interrupts:
    """The run's stop requests: how many (`level`), which signal, and where one may be raised."""

    level: int = 0
    signal_name: str | None = None
    listeners: list[Callable[[int], None]] = field(default_factory=list)
    _raise_allowed: bool = False
    _shielded: int = 0
    _counted_at: float = -SAME_REQUEST_SECONDS

    def install(self, signals: tuple[int, ...] = (*STOP_SIGNALS, *RELAYED)) -> None:
        """Take over the stop signals (main thread only: Python delivers signals there)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in signals:
            signal.signal(signum, self._handle)

    def install_relay(self) -> None:
        """Take the relayed stop requests only: their default action would kill the process, and
        lucs-acceptance may send one before a scenario wakes the harness up."""
        self.install(tuple(RELAYED))

    def request(self, level: int, name: str) -> None:
        """Record a stop request of at least `level` (1 = stop, 2 = cut the restore short)."""
        if level <= self.level:
            return
        self.level, self.signal_name = level, self.signal_name or name
        for listener in self.listeners:
            listener(self.level)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # decided first, and off while the listeners run: a second signal arriving meanwhile (a relay
        # right behind the user's own) must not raise inside them and cut their bookkeeping short
        may_raise, self._raise_allowed = self._raise_allowed, False
        if signum == signal.SIGHUP:
            silence_lost_terminal()
        now = time.monotonic()
        if signum in RELAYED:  # already counted by the process that relayed it
            self._counted_at = now
            self.request(RELAYED[signal.Signals(signum)], "a signal passed on by lucs-acceptance")
        elif now - self._counted_at < SAME_REQUEST_SECONDS:
            self.request(max(self.level, 1), signal.Signals(signum).name)
        else:
            self._counted_at = now
            self.request(self.level + 1, signal.Signals(signum).name)
        if may_raise and (self._shielded == 0 or self.level >= CUT_SHORT):
            raise RunInterrupted(self.reason())  # once per phase: the scenario's teardown must get its turn
        self._raise_allowed = may_raise  # a restore went on: a second stop request may still cut it short

    def reason(self) -> str:
        """One line for reports: which signal stopped the run, and whether the restore was cut short."""
        how = "the restore cut short by a second one" if self.cut_short else "the running scenario stopped, restored"
        return f"run interrupted by {self.signal_name or 'a signal'} ({how})"

    @property
    def stopping(self) -> bool:
        return self.level > 0

    @property
    def cut_short(self) -> bool:
        return self.level >= CUT_SHORT

    @contextmanager
    def raising(self) -> Iterator[None]:
        """Inside, a stop request raises `RunInterrupted` (around a scenario's setup, call, teardown).
        A shielded part (a restore) is entered even when cut short already: its teardown must run
        to its end, or plugins (Allure) would finish the scenario twice; the restore skips its undos."""
        self._raise_allowed = True
        try:
            if self.level >= 1 and not self._shielded:
                self._raise_allowed = False
                raise RunInterrupted(self.reason())
            yield
        finally:
            self._raise_allowed = False

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """Inside (a restore), only a second stop request raises."""
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1


def silence_lost_terminal() -> None:
    """After a hangup the terminal is gone and writing to it fails: send output to /dev/null so the
    restore and the reports are not broken by an I/O error."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and os.isatty(stream.fileno()):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
        except (OSError, ValueError):
            continue
