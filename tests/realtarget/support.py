"""Run the mock as a separate process and the suite against it through `--lucs-base-url` only,
as a team would against a real LUCS."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import trustme
import uvicorn

from lucs_harness.mock.auth import CONTROL_PREFIX
from lucs_harness.mock.cli import parser, server_from
from lucs_harness.mock.server import MockServer
from tests.support.suite import ROOT, child_env, suite_command

START_DEADLINE = 15.0
# restore journals of the runs these tests start, away from the user's own (one folder per target inside)
JOURNALS = Path(tempfile.mkdtemp(prefix="lucs-test-journals-"))
AGENT = "sip:smoky.cc@dev.local"
# the settings of every run these tests start: their own journals, and a short hold of the pending
# task (these tests prove restores, signals and guards, not the hold: a test that needs one sets it)
TARGET_ENV = {"LUCS_JOURNAL_DIR": str(JOURNALS), "LUCS_HOLD_TIME": "0.1"}


@dataclass(frozen=True)
class TlsFiles:
    """A server certificate for 127.0.0.1, its key, and the CA bundle that trusts it (PEM files)."""

    cert: Path
    key: Path
    bundle: Path


def tls_files(folder: Path) -> TlsFiles:
    """A throw-away CA and a certificate it issued for 127.0.0.1, written into `folder`."""
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    files = TlsFiles(folder / "cert.pem", folder / "key.pem", folder / "ca.pem")
    issued.cert_chain_pems[0].write_to_path(str(files.cert))
    issued.private_key_pem.write_to_path(str(files.key))
    ca.cert_pem.write_to_path(str(files.bundle))
    return files


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def mock_process(*args: str, scheme: str = "http", verify: str | bool = True, log: Path | None = None) -> Iterator[str]:
    """`lucs-mock serve` in its own process; yields its base URL once it answers."""
    with mock_server(*args, scheme=scheme, verify=verify, log=log) as (base, _):
        yield base


@contextmanager
def mock_thread(*args: str) -> Iterator[str]:
    """The mock `lucs-mock serve ARGS` would serve, in a thread of this process (no process start-up:
    ~0.2 CPU-s and ~0.6 s less per test); yields its base URL once it answers. For a test whose point
    does not need the mock in a process of its own: one that neither signals nor kills it, nor reads
    its request log."""
    with slowed_mock(*args) as mock:
        yield mock.base_url


@dataclass
class SlowedMock(MockServer):
    """A mock whose LUCS answers wait `delay` seconds, a delay the test may change while it serves
    (`--latency` is fixed at the start): slow only where the test needs it."""

    delay: float = 0.0

    def config(self, *args: Any, **kwargs: Any) -> uvicorn.Config:
        config = super().config(*args, **kwargs)
        served: Any = config.app  # create_app's Starlette application

        async def delayed(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and self.delay and not scope["path"].startswith(CONTROL_PREFIX):
                await asyncio.sleep(self.delay)
            await served(scope, receive, send)

        config.app = delayed
        return config


@contextmanager
def slowed_mock(*args: str) -> Iterator[SlowedMock]:
    """`mock_thread`'s mock itself, its `delay` 0 until the test sets it."""
    mock = server_from(parser().parse_args(["serve", "--port", "0", *args]), SlowedMock)
    with mock:
        yield mock


@contextmanager
def mock_server(
    *args: str, scheme: str = "http", verify: str | bool = True, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`lucs-mock serve` in its own process: its base URL and the process (for a test that kills it);
    with `log`, its line per request goes to that file. A port another process took between
    `free_port` and the bind (a busy machine) is tried again with another."""
    for attempt in range(PORT_ATTEMPTS):
        try:
            base, process = _start_mock(args, scheme, verify, log)
        except PortTaken:
            if attempt + 1 == PORT_ATTEMPTS:
                raise
            continue
        try:
            yield base, process
        finally:
            process.terminate()
            process.wait(timeout=10)
        return


PORT_ATTEMPTS = 3


class PortTaken(RuntimeError):
    """The free port was taken before the mock could bind it."""


def _start_mock(
    args: tuple[str, ...], scheme: str, verify: str | bool, log: Path | None
) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    quiet = [] if log else ["--quiet"]
    command = [sys.executable, "-m", "lucs_harness.mock.cli", "serve", "--port", str(port), *quiet, *args]
    with log.open("wb") if log else nullcontext() as logged:
        process = subprocess.Popen(
            command, cwd=ROOT, env=child_env(), stdout=logged or subprocess.PIPE, stderr=subprocess.STDOUT
        )
    base = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + START_DEADLINE
    while True:
        try:
            requests.get(f"{base}/_mock/state", timeout=1, verify=verify)
            return base, process
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait(timeout=10)
                said = process.stdout.read().decode() if process.stdout else log.read_text() if log else ""
                if "Address already in use" in said:
                    raise PortTaken(said) from None
                raise RuntimeError(f"lucs-mock did not start: {said}") from None
            time.sleep(0.02)


def run_suite(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The feature suite in a child pytest; `env` adds LUCS_* settings."""
    return subprocess.run(
        suite_command("-q", *args),
        cwd=ROOT,
        env=child_env(**(TARGET_ENV | (env or {}))),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def acceptance(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`lucs-acceptance ARGS` as a user starts it, in a session of its own: the test can signal the
    wrapper alone, its process group (a Ctrl-C in the terminal), or every process of the session."""
    command = [sys.executable, "-m", "lucs_harness.cli", *args]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=child_env(**(TARGET_ENV | (env or {}))),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def session_processes(leader: int) -> dict[int, int]:
    """Every process of the session `leader` started (the wrapper, pytest, its workers): pid -> parent pid."""
    listed = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,sid="], capture_output=True, text=True, check=True).stdout
    rows = [tuple(map(int, line.split())) for line in listed.splitlines()]
    return {pid: ppid for pid, ppid, sid in rows if sid == leader}


def signal_run(run: subprocess.Popen[str], sig: int, to: str) -> None:
    """`to`: "wrapper" (kill PID), "group" (the terminal's Ctrl-C: the wrapper's process group),
    "pytest" (the suite process alone), "all" (a CI runner signalling every process)."""
    if to == "wrapper":
        run.send_signal(sig)
    elif to == "group":
        os.killpg(run.pid, sig)
    else:
        processes = session_processes(run.pid)
        chosen = processes if to == "all" else [pid for pid, parent in processes.items() if parent == run.pid]
        for pid in chosen:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)


def wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    """Poll `condition()` until true, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def agent_state(base: str, **credentials: Any) -> tuple[Any, ...]:
    """What the suite may change on the mock: the agent's block, presence and task, and open tasks
    (closed by the State name the mock's conventions give). `credentials`: `headers=` or `params=`
    for a mock that demands them."""
    state = requests.get(f"{base}/_mock/state", timeout=5, **credentials).json()
    closed = requests.get(f"{base}/_mock/conventions", timeout=5, **credentials).json()["task-states"]["closed"]
    agent = next(u for u in state["users"] if u["SipUri"] == AGENT)
    open_tasks = sorted(t["ExternalTaskId"] for t in state["tasks"] if t["State"] != closed)
    return agent["Blocked"], agent["PresenceState"], agent["TaskId"], open_tasks
