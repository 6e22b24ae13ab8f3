"""One contract, two stores (files on this machine, PostgreSQL for a fleet): a lease is one run's
at a time, a busy pool is waited for, an undo outlives the run that wrote it, and a live run's
journal and tasks are never taken."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from lucs_harness.config import LucsConfig
from lucs_harness.coordination import lease_agent
from lucs_harness.errors import PoolExhausted
from tests.coordination.conftest import Opener
from tests.support.journals import SMOKY_CC, unblock

AGENTS = ["sip:a@dev.local", "sip:b@dev.local"]


def test_a_lease_is_one_runs_at_a_time(open_run: Opener) -> None:
    first, second = open_run(), open_run()
    lease = first.try_lease(AGENTS[0], "gw0")
    assert lease is not None
    assert first.try_lease(AGENTS[0], "gw0") is None  # not twice, not even to its holder
    assert second.try_lease(AGENTS[0], "gw1") is None
    assert second.is_leased(AGENTS[0])
    assert not second.is_leased(AGENTS[1])
    lease.release()
    assert not second.is_leased(AGENTS[0])
    assert second.try_lease(AGENTS[0], "gw1") is not None


def test_a_busy_pool_is_waited_for_and_said_so(open_run: Opener) -> None:
    holder, waiter = open_run(), open_run()
    held = [holder.try_lease(agent, "other run") for agent in AGENTS]
    said: list[str] = []
    waiting = threading.Event()

    def say(line: str) -> None:
        said.append(line)
        waiting.set()

    got: list[str] = []
    thread = threading.Thread(target=lambda: got.append(lease_agent(waiter, AGENTS, "main", 30, say).agent))
    thread.start()
    assert waiting.wait(10)
    assert not got
    lease = held[1]
    assert lease is not None
    lease.release()
    thread.join(10)
    assert got == [AGENTS[1]]
    assert len(said) == 2
    assert said[0].startswith("all 2 agent(s) of the pool are leased by other live runs")
    assert said[1].startswith(f"lease wait over: {AGENTS[1]} free after")


def test_past_the_lease_wait_the_pool_is_exhausted(open_run: Opener) -> None:
    holder, waiter = open_run(), open_run()
    held = holder.try_lease(AGENTS[0], "other run")  # kept: a file lease dropped is a lease released
    assert held is not None
    with pytest.raises(PoolExhausted, match=r"stayed leased by other live runs for 0\.2 s"):
        lease_agent(waiter, AGENTS[:1], "main", 0.2, lambda line: None)


def test_a_live_runs_journal_is_not_taken(open_run: Opener) -> None:
    alive, other = open_run(), open_run()
    journal = alive.journal()
    journal.add(unblock())
    assert list(other.leftovers()) == []
    assert other.run_alive(alive.token) is True
    journal.close()


def test_what_a_finished_run_undid_is_gone(open_run: Opener) -> None:
    run, later = open_run(), open_run()
    journal = run.journal()
    undo = unblock()
    journal.add(undo)
    journal.cross_out(undo)
    journal.close()
    run.close()
    assert list(later.leftovers()) == []


KILLED_RUN = """
import json, os, signal, sys
from lucs_harness.config import LucsConfig
from lucs_harness.coordination import open_store
from lucs_harness.journal import Undo
from lucs_harness.leftovers import harness_id
store = open_store(LucsConfig(**json.loads(sys.argv[1])))
assert store.try_lease("sip:a@dev.local", "gw0") is not None
journal = store.journal()
journal.add(Undo("close task t", "close_task", {"taskIdentifier": harness_id()}, gone=(404,)))
journal.add(Undo("unblock a", "unblock_user", {"userId": sys.argv[2]}))
print(store.token, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_run(config: LucsConfig) -> str:
    """A run in a process of its own that leases an agent, journals two undos and is SIGKILLed; its token."""
    settings = json.dumps({name: getattr(config, name) for name in config.given})
    done = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, settings, SMOKY_CC], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -9, done.stderr
    return done.stdout.strip()


def test_a_killed_runs_undos_and_lease_pass_to_the_next_run(open_run: Opener, store_config: LucsConfig) -> None:
    token = killed_run(store_config)
    later = open_run()
    assert later.run_alive(token) is False
    assert later.try_lease(AGENTS[0], "gw0") is not None  # the dead run's lease went with it
    [left] = list(later.leftovers())
    assert token in left.name
    assert [u.operation for u in left.undos] == ["close_task", "unblock_user"]  # oldest first
    assert left.undos[0].gone == (404,)
    left.cross_out(left.undos[0])
    left.release(finished=False)
    [again] = list(open_run().leftovers())  # what was not crossed out stays for the next run
    assert [u.operation for u in again.undos] == ["unblock_user"]
    again.cross_out(again.undos[0])
    again.release(finished=True)
    assert list(open_run().leftovers()) == []


def test_a_run_the_store_never_saw_is_unknown(open_run: Opener) -> None:
    assert open_run().run_alive("0badc0de") is None
