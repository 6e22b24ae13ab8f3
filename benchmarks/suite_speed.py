"""Benchmark: the feature suite's wall time and the client's overhead over raw `requests`.

Prints, from one run:
- the wall time of a whole `pytest tests/acceptance` process against the embedded mock (median of 5);
- per-call time of `LucsClient` (schema checks included) and of a raw `requests` loop sending the
  same calls to the same mock, and their ratio (targets: wall < 1.5 s, ratio < 1.3).
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable

import requests

from lucs_harness.client import LucsClient
from lucs_harness.config import SEED_SERVICE, LucsConfig
from lucs_harness.mock.server import MockServer
from tests.support.suite import ROOT, child_env, suite_command

CURT = "854822ed-4a2a-4eb1-b07f-637ed3eab729"
ROUNDS, CALLS = 7, 200


def suite_wall_time(runs: int = 5) -> list[float]:
    env = child_env()
    command = suite_command("-q")
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)  # warm the bytecode caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def per_call_ms(loop: Callable[[], None]) -> float:
    """Median over rounds of the time per call of a loop of 4 calls."""
    loop()
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS // 4):
            loop()
        samples.append((time.perf_counter() - started) * 1000 / CALLS)
    return statistics.median(samples)


def main() -> None:
    walls = suite_wall_time()
    with MockServer() as mock:
        client = LucsClient(LucsConfig(), mock.base_url)
        raw = requests.Session()
        timeout = (client.config.connect_timeout, client.config.read_timeout)
        base = mock.base_url

        def with_client() -> None:
            client.list_users(SEED_SERVICE)
            client.block(CURT)
            client.unblock(CURT)
            client.set_presence(CURT, "Online")

        def with_requests() -> None:
            raw.get(f"{base}/v1.0/services/{SEED_SERVICE}/users", timeout=timeout).json()
            raw.post(f"{base}/v1.0/users/{CURT}/block", timeout=timeout).json()
            raw.post(f"{base}/v1.0/users/{CURT}/unblock", timeout=timeout).json()
            raw.post(f"{base}/v1.0/users/{CURT}/setpresence", json={"Presence": "Online"}, timeout=timeout)

        # interleave so both see the same machine load
        client_ms, raw_ms = [], []
        for _ in range(3):
            client_ms.append(per_call_ms(with_client))
            raw_ms.append(per_call_ms(with_requests))
    wall = statistics.median(walls)
    ratio = statistics.median(client_ms) / statistics.median(raw_ms)
    print(
        f"feature suite wall time (whole pytest process, median of {len(walls)}): {wall:.2f} s "
        f"[{', '.join(f'{w:.2f}' for w in walls)}] target < 1.5 s: {'ok' if wall < 1.5 else 'MISSED'}"
    )
    print(f"per call: client {statistics.median(client_ms):.3f} ms, raw requests {statistics.median(raw_ms):.3f} ms")
    print(f"client / raw requests ratio: {ratio:.2f} (target < 1.3: {'ok' if ratio < 1.3 else 'MISSED'})")


if __name__ == "__main__":
    main()
