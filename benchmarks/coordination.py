"""Benchmark: what the PostgreSQL coordination store costs, and how well it shares a pool.

- journaled change: an undo stored before its change is sent and crossed out after it, with the
  file journal (flushed to disk each time) and with the store's journal on a local PostgreSQL that
  flushes its WAL like a real one (fsync on); ms per change each, and the difference (goal: the
  store at most 2 ms more on loopback).
- fleet: 4 runners (separate pytest processes, folders of their own, as on 4 machines) share a
  pool of 2 agents on one `lucs-mock serve` (50 ms latency) through the store. From the store's
  lease log: no agent held by two runs at once, and the time from the first lease to the last
  release against the ideal schedule of the same holds on 2 agents (goal: within 10 %).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from lucs_harness.config import LucsConfig
from lucs_harness.coordination import Coordination
from lucs_harness.coordination.files import FileCoordination
from lucs_harness.coordination.postgres import PostgresCoordination
from lucs_harness.journal import Undo
from tests.realtarget.support import mock_process
from tests.support.postgres import postgres_server
from tests.support.suite import ROOT, child_env, suite_command

CHANGES = 300
RUNNERS = 4
POOL = "sip:smoky.cc@dev.local,sip:smoky.dd@dev.local"
SCENARIOS = "blocking_takes or task_for_a_blocked or setting_the_presence"


def per_change_ms(store: Coordination) -> float:
    """Milliseconds for one journaled change: the undo stored, then crossed out."""
    journal = store.journal()
    started = time.perf_counter()
    for n in range(CHANGES):
        undo = Undo(f"unblock {n}", "unblock_user", {"userId": f"00000000-0000-4000-8000-{n:012d}"})
        journal.add(undo)
        journal.cross_out(undo)
    elapsed = time.perf_counter() - started
    journal.close()
    store.close()
    return elapsed / CHANGES * 1000


def journal_cost(url: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = per_change_ms(FileCoordination(LucsConfig(base_url="http://lucs.test", journal_dir=folder)))
    store = per_change_ms(PostgresCoordination(LucsConfig(base_url="http://lucs.test", coordination=url)))
    print(f"journaled change: files {files:.2f} ms, PostgreSQL {store:.2f} ms, difference {store - files:+.2f} ms")


def ideal_span(holds: list[float], agents: int) -> float:
    """The shortest time the holds take on `agents` agents (longest first onto the least busy)."""
    busy = [0.0] * agents
    for hold in sorted(holds, reverse=True):
        busy[busy.index(min(busy))] += hold
    return max(busy)


def fleet(url: str) -> None:
    with mock_process("--latency", "0.05") as base, tempfile.TemporaryDirectory() as scratch:
        runs = []
        for n in range(RUNNERS):
            own = Path(scratch) / f"runner{n}"
            env = child_env(
                LUCS_COORDINATION=url, LUCS_JOURNAL_DIR=str(own / "j"), LUCS_LEASE_DIR=str(own / "l"),
                XDG_CACHE_HOME=str(own / "c"), LUCS_HOLD_TIME="0.2",
            )  # fmt: skip
            command = suite_command("-q", "--lucs-base-url", base, "--lucs-allow-changes", "--lucs-agents", POOL,
                                    "-k", SCENARIOS)  # fmt: skip
            runs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        for run in runs:
            output, _ = run.communicate(timeout=600)
            if run.returncode != 0:
                raise SystemExit(f"a runner failed ({run.returncode}):\n{output.decode()[-3000:]}")
        reader = PostgresCoordination(LucsConfig(base_url=base, coordination=url), uuid.uuid4().hex[:8])
        log = reader.lease_log()
        reader.close()
    held: dict[str, tuple[str, float]] = {}
    holds, overlaps = [], 0
    for agent, _, holder, event, at in log:
        if event == "acquire":
            overlaps += agent in held
            held[agent] = (holder, at)
        else:
            holds.append(at - held.pop(agent)[1])
    span = log[-1][4] - log[0][4]
    ideal = ideal_span(holds, agents=len(POOL.split(",")))
    print(
        f"fleet: {RUNNERS} runners, 2 agents: {len(holds)} leases, {overlaps} overlaps; "
        f"first lease to last release {span:.2f} s, ideal {ideal:.2f} s, ratio {span / ideal:.3f}"
    )


def main() -> None:
    with postgres_server(durable=True) as server:
        journal_cost(server.database())
        fleet(server.database())


if __name__ == "__main__":
    main()
