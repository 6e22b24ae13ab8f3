"""Benchmark: speed-up of `-n 2` over a serial run, on a 40-example scenario outline against one
separately started mock LUCS with a pool of two agents (target: at least 1.6x on 2 cores).

The mock answers after a fixed latency (default 50 ms) like a LUCS across a network; without it a
loopback mock is CPU-bound on the same two cores as the workers and parallelism only adds overhead.
The hold time of "the task stays pending" is 0: a deliberate wait would flatter the speed-up.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time

from tests.realtarget.support import mock_process
from tests.support.suite import ROOT, child_env, suite_command

POOL = "sip:smoky.cc@dev.local,sip:smoky.dd@dev.local"


def timed_run(base: str, *extra: str) -> float:
    with tempfile.TemporaryDirectory() as leases:
        command = suite_command("-q", "--lucs-base-url", base, "--lucs-allow-changes", "--lucs-agents", POOL,
                                "--lucs-lease-dir", leases, "--lucs-hold-time", "0", *extra,
                                tests="benchmarks/parallel")  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return elapsed


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__)
    cli.add_argument("--latency", type=float, default=0.05, help="seconds the mock waits before each answer")
    args = cli.parse_args()
    with mock_process("--latency", str(args.latency)) as base:
        serial = timed_run(base, "-p", "no:xdist")
        parallel = timed_run(base, "-n", "2")
    print(f"40-example outline against one mock (latency {args.latency * 1000:.0f} ms per request, pool of 2 agents)")
    print(f"serial: {serial:.2f} s   -n 2: {parallel:.2f} s   speed-up: {serial / parallel:.2f}x (target >= 1.6x)")


if __name__ == "__main__":
    main()
