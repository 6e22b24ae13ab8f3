"""Benchmark: the mock's throughput holding a busy day's state against holding none.

Two mocks serve the same 1,000 users (100 in each of 10 services), each in a process of its own on
loopback: one holds nothing else, the other a busy day of a service built before it serves, 10,000
tasks (pending for an agent who is offline, offered to one who never answers, accepted, closed) and
10,000 callbacks (pending, processing, cancelled). Both get the same load in alternating rounds: 8
connections, each listing the users of its service (100 DTOs, the same payload on both), blocking
and unblocking a free agent of it, over keep-alive HTTP (`benchmarks.load`, cheap enough per call
that the mock, not the load, sets the rate); the figure of each is the median of its rounds.
What is compared is the cost of a call beside the tasks and callbacks held (the goal: the full mock
answers at least half as many calls a second as the empty one). Then 64 connections load the full mock
for a while and its resident memory is read before and after (it should stay flat: the load creates
nothing, so nothing should grow).

Prints calls/s of each, their ratio, the state held and the memory figures.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from benchmarks.load import LoadError, calls_per_second, request
from lucs_harness.mock.domain import Lucs
from lucs_harness.mock.seed import Seed, load_seed
from lucs_harness.mock.server import MockServer
from tests.realtarget.support import free_port

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 300.0
NEVER = 2147483647  # seconds: a RONA timeout that does not fire while the benchmark runs
# an agent's place among the 100 of its service says what it does all day
OFFLINE, SILENT, BUSY = range(0, 10), range(10, 30), range(30, 70)  # the rest (70-99) are free


class BenchmarkError(RuntimeError):
    """The benchmark cannot run or measured something broken; the message says what."""


def user_id(service: int, index: int) -> str:
    return f"00000000-0000-4000-8000-{service:04d}{index:08d}"


def service_id(service: int) -> str:
    return f"10000000-0000-4000-8000-{service:012d}"


def sip(service: int, index: int) -> str:
    return f"sip:agent{service}.{index}@scale.local"


def busy_seed(services: int, per_service: int) -> Seed:
    """`services` services of `per_service` users each: offline, silent (never answer), busy and free ones."""
    template = load_seed().template
    listed = tuple(
        {"Id": service_id(s), "Name": f"Service {s}", "SipUri": f"sip:service{s}@scale.local"} for s in range(services)
    )
    users = tuple(
        {
            "Id": user_id(s, i),
            "SipUri": sip(s, i),
            "FirstName": "Agent",
            "LastName": f"{s}.{i}",
            "Services": [service_id(s)],
            "PresenceState": "Offline" if i in OFFLINE else "Online",
            "Behaviour": {"Answer": "never" if i in SILENT else "accept"},
        }
        for s in range(services)
        for i in range(per_service)
    )
    return Seed(services=listed, users=users, template=template)


def task(service: int, agent: int, n: int) -> dict[str, Any]:
    """A task for one agent only, who takes it, never answers it or (offline) leaves it pending."""
    return {
        "ExternalTaskId": f"day-{n}",
        "Service": service_id(service),
        "PreferredAgents": [sip(service, agent)],
        "ConsiderPreferredAgentsOnly": True,
        "DistributeToAgentRONATimeoutInSeconds": NEVER,
    }


def fill(lucs: Lucs, services: int, tasks: int, callbacks: int) -> None:
    """A busy day: every silent agent offered a task, every busy one holding one, a third of the
    rest pending for offline agents and the others closed; callbacks due, due later and cancelled."""
    holders = [(s, i) for s in range(services) for i in (*SILENT, *BUSY)]
    for n, (s, i) in enumerate(holders):
        lucs.create_task(task(s, i, n))
    for n in range(len(holders), tasks):
        created = lucs.create_task(task(n % services, OFFLINE[n % len(OFFLINE)], n))
        if n % 3:
            lucs.close_task(created)
    for n in range(callbacks):
        due = None if n % 3 == 0 else "2026-01-02T08:00:00Z"
        made = lucs.create_callback(
            {
                "ServiceId": service_id(n % services),
                "Target": "+41000000000",
                "ExternalTaskId": f"cb-{n}",
                "SecondsBetweenRetries": 60,
                "DueDate": due,
            }
        )
        if n % 3 == 2:
            lucs.cancel_callback(made["Id"])
    lucs.advance(30)


def serve(port: int, services: int, per_service: int, tasks: int, callbacks: int) -> None:
    """The mock, filled, on `port` until terminated (run in a process of its own)."""
    server = MockServer(port=port, seed=busy_seed(services, per_service))
    fill(server.lucs, services, tasks, callbacks)
    counts = {k: len(v) for k, v in server.lucs.snapshot().items() if isinstance(v, list)}
    print(f"holds {counts}", flush=True)
    server.start()
    threading.Event().wait()


@contextmanager
def mock_process(args: argparse.Namespace, tasks: int, callbacks: int) -> Iterator[tuple[str, int]]:
    """A mock in a process of its own; yields its base URL and pid."""
    port = free_port()
    sizes = {"--services": args.services, "--per-service": args.per_service, "--tasks": tasks, "--callbacks": callbacks}
    command = [sys.executable, __file__, "serve", "--port", str(port), *(f"{k}={v}" for k, v in sizes.items())]
    process = subprocess.Popen(command, cwd=ROOT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(process, f"{base}/v1.0/services/{service_id(0)}/users")
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"the mock exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise BenchmarkError(f"the mock did not answer {url} within {START_TIMEOUT:.0f} s")


def load(base: str, connections: int, seconds: float, services: int, per_service: int) -> float:
    """Calls a second: each of `connections` connections lists its service's users, blocks and
    unblocks a free agent of it, in turn (`benchmarks.load`)."""
    free = range(BUSY.stop, per_service)
    cycles = []
    for index in range(connections):
        service = index % services
        user = user_id(service, free[(index // services) % len(free)])
        cycles.append([
            request("GET", f"{base}/v1.0/services/{service_id(service)}/users"),
            request("POST", f"{base}/v1.0/users/{user}/block"),
            request("POST", f"{base}/v1.0/users/{user}/unblock"),
        ])  # fmt: skip
    try:
        return calls_per_second(base, cycles, seconds)
    except LoadError as error:
        raise BenchmarkError(f"{base} {error}") from None


def rss_mib(pid: int) -> float:
    """The process's resident memory now (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchmarkError(f"no VmRSS for process {pid}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", nargs="?", choices=("compare", "serve"), default="compare")
    p.add_argument("--port", type=int, default=0, help="serve: the port")
    p.add_argument("--services", type=int, default=10)
    p.add_argument("--per-service", type=int, default=100, help="users in each service (at least 71)")
    p.add_argument("--tasks", type=int, default=10_000)
    p.add_argument("--callbacks", type=int, default=10_000)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--seconds", type=float, default=3.0, help="length of a round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--memory-connections", type=int, default=64)
    p.add_argument("--memory-seconds", type=float, default=20.0, help="0: no memory check")
    return p


def compare(args: argparse.Namespace) -> int:
    figures: dict[str, list[float]] = {"empty": [], "full": []}
    users = args.services * args.per_service
    with mock_process(args, 0, 0) as (empty, _), mock_process(args, args.tasks, args.callbacks) as (full, pid):
        urls = {"empty": empty, "full": full}
        for name in urls:  # warm up
            load(urls[name], args.connections, 1.0, args.services, args.per_service)
        for _ in range(args.rounds):
            for name, base in urls.items():
                figures[name].append(load(base, args.connections, args.seconds, args.services, args.per_service))
        empty_rate, full_rate = (statistics.median(figures[name]) for name in ("empty", "full"))
        print(f"{users} users in {args.services} services; {args.connections} connections list users + block + unblock")
        print(f"empty (no tasks, no callbacks): {empty_rate:8.0f} calls/s  rounds {_rounded(figures['empty'])}")
        held = f"{args.tasks} tasks, {args.callbacks} callbacks"
        print(f"full ({held}): {full_rate:8.0f} calls/s  rounds {_rounded(figures['full'])}")
        print(f"ratio full/empty: {full_rate / empty_rate:.2f} (goal >= 0.5)")
        if args.memory_seconds:
            before = rss_mib(pid)
            rate = load(full, args.memory_connections, args.memory_seconds, args.services, args.per_service)
            after = rss_mib(pid)
            print(
                f"memory of the full mock under {args.memory_connections} connections for {args.memory_seconds:.0f} s "
                f"({rate:.0f} calls/s): RSS {before:.1f} MiB before, {after:.1f} MiB after ({after - before:+.1f} MiB)"
            )
    return 0 if full_rate >= 0.5 * empty_rate else 1


def _rounded(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.mode == "serve":
        serve(args.port, args.services, args.per_service, args.tasks, args.callbacks)
        return 0
    try:
        return compare(args)
    except BenchmarkError as failed:
        print(f"mock_at_scale: {failed}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
