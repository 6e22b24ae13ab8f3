"""Mutation score of the feature suite: run it once per fault mode of the mock (two at a time) and
print, per fault, whether it was killed and at which step, then the score as killed/total."""

from __future__ import annotations

import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from lucs_harness.mock.faults import Fault
from tests.support.mutation import EXPECTED, run_suite


def main() -> int:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        baseline, *outcomes = pool.map(run_suite, [None, *Fault])
    print(f"faithful mock: {'passed' if baseline.returncode == 0 else 'FAILED'} (exit code {baseline.returncode})")
    print(f"{'fault':24} {'result':9} failing step")
    killed = 0
    for outcome in outcomes:
        kill = outcome.caught()
        killed += kill is not None
        assert outcome.fault is not None
        evidence = re.search(EXPECTED[outcome.fault].message, kill.message, re.S) if kill else None
        where = f"{kill.step}  [{evidence.group(0)[:90] if evidence else ''}]" if kill else "-"
        print(f"{outcome.fault.value:24} {'killed' if kill else 'SURVIVED':9} {where}")
    print(f"mutation score: {killed}/{len(outcomes)} in {time.perf_counter() - started:.1f} s")
    return 0 if killed == len(outcomes) and baseline.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
