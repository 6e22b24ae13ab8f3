"""Benchmark: what pytest-xdist gains, in two settings (target: `-n 2` at least 1.6x serial on 2 cores).

- latency: the 40-example outline against one separately started mock LUCS that answers after a
  fixed latency (default 50 ms) like a LUCS across a network, with a pool of two agents. Without
  the latency a loopback mock is CPU-bound on the same cores as the workers. The hold time of "the
  task stays pending" is 0: a deliberate wait would flatter the speed-up.
- scale: the same round trip as a 1,000-example outline on the embedded mock (one per worker), with
  every report a suite run writes (Allure results, JUnit, Cucumber), serial and with `-n auto` (and
  `-n 2` where auto means another number), in alternating rounds; prints the time per scenario.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from benchmarks.support import OUTLINE_ENV, outline, timed
from lucs_harness.reporting.publish import report_args
from tests.realtarget.support import mock_process
from tests.support.suite import child_env, suite_command

POOL = "sip:smoky.cc@dev.local,sip:smoky.dd@dev.local"


def timed_run(*args: str, env: dict[str, str] | None = None) -> float:
    """Wall time of one run of the benchmark outline, which must pass."""
    return timed(suite_command("-q", *args, tests="benchmarks/parallel"), env=env)


def against_mock(base: str, *extra: str) -> float:
    with tempfile.TemporaryDirectory() as leases:
        return timed_run("--lucs-base-url", base, "--lucs-allow-changes", "--lucs-agents", POOL,
                         "--lucs-lease-dir", leases, "--lucs-hold-time", "0", *extra)  # fmt: skip


def against_latency(latency: float) -> None:
    with mock_process("--latency", str(latency)) as base:
        serial = against_mock(base, "-p", "no:xdist")
        parallel = against_mock(base, "-n", "2")
    print(f"latency: 40-example outline against one mock ({latency * 1000:.0f} ms per request, pool of 2 agents)")
    print(f"  serial {serial:.2f} s, -n 2 {parallel:.2f} s: speed-up {serial / parallel:.2f}x (target >= 1.6x)")


def at_scale(scenarios: int, rounds: int) -> None:
    auto = os.cpu_count() or 1
    modes = {"serial": ["-p", "no:xdist"], f"-n auto ({auto})": ["-n", "auto"]}
    if auto != 2:
        modes["-n 2"] = ["-n", "2"]
    with outline(scenarios) as feature, tempfile.TemporaryDirectory(prefix="lucs-bench-") as scratch:
        env = child_env(**{OUTLINE_ENV: str(feature)})
        reports = Path(scratch) / "reports"
        samples: dict[str, list[float]] = {mode: [] for mode in modes}
        for _ in range(rounds):
            for mode, args in modes.items():
                shutil.rmtree(reports, ignore_errors=True)
                reports.mkdir()
                samples[mode].append(timed_run(*report_args(reports), *args, env=env))
    serial = statistics.median(samples["serial"])
    print(f"scale: {scenarios}-example outline on the embedded mock, every report, {rounds} rounds (median)")
    for mode, values in samples.items():
        wall = statistics.median(values)
        rounds_shown = ", ".join(f"{v:.1f}" for v in values)
        per = wall * 1000 / scenarios
        print(f"  {mode:14} {wall:6.1f} s [{rounds_shown}]  {per:5.1f} ms per scenario  speed-up {serial / wall:.2f}x")
    two = statistics.median(samples["-n 2" if "-n 2" in samples else f"-n auto ({auto})"])
    print(f"  -n 2 speed-up {serial / two:.2f}x (target >= 1.6x: {'ok' if serial / two >= 1.6 else 'MISSED'})")


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--only", default="latency,scale", help="comma-separated: latency, scale")
    cli.add_argument("--latency", type=float, default=0.05, help="seconds the mock waits before each answer")
    cli.add_argument("--scenarios", type=int, default=1000, help="size of the scale outline")
    cli.add_argument("--rounds", type=int, default=2, help="rounds of the scale runs")
    args = cli.parse_args()
    chosen = args.only.split(",")
    if "latency" in chosen:
        against_latency(args.latency)
    if "scale" in chosen:
        at_scale(args.scenarios, args.rounds)


if __name__ == "__main__":
    main()
