"""The wrapper's process control: `lucs-acceptance` runs the suite in a child pytest of its own
process group and passes stop requests on to it. Ctrl-C, SIGTERM and SIGHUP become the relay signals,
which count once however often they arrive (a CI runner that signals every process, GNU `timeout`
signalling the wrapper then its group); a second one a second later or more cuts the restore short.
Killed outright, the wrapper takes the suite down with SIGTERM (Linux), so its restore still runs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from types import FrameType

from lucs_harness.exit_codes import (
    INTERRUPTED,
)
from lucs_harness.interrupts import (
    RELAYED,
    SAME_REQUEST_SECONDS,
    STOP_SIGNALS,
    relay_signal,
    silence_lost_terminal,
)

# pytest plugins some installations carry that a feature run never uses (schemathesis alone costs
# half a second of start-up; platformdirs' fixture for isolated folders 5 ms); blocking a plugin
# that is not installed is harmless
UNUSED_PLUGINS = ("schemathesis", "anyio", "hypothesispytest", "platformdirs")

PLUGIN = "lucs_harness.plugin"  # what a project's conftest names in `pytest_plugins` to opt in

PR_SET_PDEATHSIG = 1


class Forwarder:
    """Passes stop requests on to the running suite (in its own process group, so a Ctrl-C in the
    terminal reaches it through here) as the relay signals, which count once however often they
    arrive: a suite that also got the signal itself (a CI runner signalling every process) does not
    take one stop request for two. Signals within SAME_REQUEST_SECONDS of the last one counted are
    that request again (GNU timeout signals the wrapper, then its own process group, where the
    wrapper is too). Once the suite is done, a signal stops the HTML."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.received: list[int] = []
        self.suite_done = False
        self._counted_at = -SAME_REQUEST_SECONDS

    @property
    def count(self) -> int:
        """How many stop requests arrived (a burst of signals within a second is one)."""
        return len(self.received)

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self)

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            silence_lost_terminal()  # the summary line must not die on a terminal that is gone
        now = time.monotonic()
        if now - self._counted_at < SAME_REQUEST_SECONDS:
            return
        self._counted_at = now
        self.received.append(signum)
        if self.child is not None and self.child.poll() is None:
            os.kill(self.child.pid, relay_signal(self.count))
        elif self.suite_done:
            raise KeyboardInterrupt(signal.Signals(signum).name)

    def start(self, process: subprocess.Popen[bytes]) -> None:
        """Hand the suite what arrived while it was being started."""
        self.child = process
        if self.received:
            os.kill(process.pid, relay_signal(self.count))


def _die_with_parent() -> None:
    """In the child: should the wrapper be killed outright, the suite gets SIGTERM and restores."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def pytest_command(*args: str) -> list[str]:
    """`python -m pytest ARGS` with the harness's plugin (whether or not the project's conftest opts
    in: loaded once either way) and without the plugins a feature run does not need."""
    blocked = [option for name in UNUSED_PLUGINS for option in ("-p", f"no:{name}")]
    return [sys.executable, "-m", "pytest", "-p", PLUGIN, *blocked, *args]


def pytest_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment of a child pytest: the run's own LUCS_* stay; PYTHONDONTWRITEBYTECODE goes,
    because pytest must cache its rewritten bytecode, or start-up doubles."""
    return {k: v for k, v in environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_suite(pytest_args: list[str], forwarder: Forwarder, meanwhile: Callable[[], object] | None = None) -> int:
    """The suite in a child pytest of its own process group, in this folder (the project's, with its
    features and pytest configuration); waits for it whatever happens here, doing `meanwhile` first
    (what the wrapper needs after the run, loaded while it runs)."""
    process = subprocess.Popen(
        pytest_command(*pytest_args), env=pytest_env(), process_group=0, preexec_fn=_die_with_parent
    )
    forwarder.start(process)
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        code = process.wait()  # even if `meanwhile` failed: the child is never left running alone
    forwarder.suite_done = True
    if -code in RELAYED:  # stopped by our relay before it took it: interrupted before any scenario ran
        return INTERRUPTED
    return 128 - code if code < 0 else code  # killed by a signal: the shell's convention
