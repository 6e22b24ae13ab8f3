"""Run the mock as a separate process and the suite against it through `--lucs-base-url` only,
as a team would against a real LUCS."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from lucs_harness.suite import ROOT, child_env, suite_command

START_DEADLINE = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def mock_process(*args: str, scheme: str = "http", verify: str | bool = True) -> Iterator[str]:
    """`lucs-mock serve` in its own process; yields its base URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "lucs_harness.mock.cli", "serve", "--port", str(port), "--quiet", *args]
    process = subprocess.Popen(command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE
        while True:
            try:
                requests.get(f"{base}/_mock/state", timeout=1, verify=verify)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    raise RuntimeError(f"lucs-mock did not start: {output}") from None
                time.sleep(0.02)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_suite(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The feature suite in a child pytest; `env` adds LUCS_* settings."""
    return subprocess.run(
        suite_command("-q", *args),
        cwd=ROOT,
        env=child_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
