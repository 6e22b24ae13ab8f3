"""A CI fleet on one LUCS: runners as separate `lucs-acceptance` processes, each with caches,
journal and lease folders of its own (as containers on different machines have), meeting only in
the PostgreSQL store. `lucs-mock serve` with latency stands in for the shared LUCS."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

from lucs_harness.config import LucsConfig
from lucs_harness.coordination.postgres import PostgresCoordination
from tests.realtarget.support import (
    acceptance,
    agent_state,
    free_port,
    mock_process,
    mock_thread,
    session_processes,
    signal_run,
    wait_for,
)
from tests.support.postgres import PostgresServer

SCENARIOS = ["-k", "blocking_takes or task_for_a_blocked"]  # both block the one agent of the pool
TIMEOUT = 120
TASK_POSTED = "I post an external task that prefers only the target user"
BLOCKED = "I block the target user"
FLEET_KEY = "the fleet's journal key"  # a masked CI variable on every runner


def runner(
    name: str, folder: Path, store: str, base: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """One runner: its own machine as far as files go; the store and LUCS are shared."""
    own = folder / name
    env = {
        "XDG_CACHE_HOME": str(own / "cache"),
        "XDG_CONFIG_HOME": str(own / "config"),  # a key file of its own: the fleet shares LUCS_JOURNAL_KEY
        "LUCS_JOURNAL_KEY": FLEET_KEY,
        "LUCS_JOURNAL_DIR": str(own / "journal"),
        "LUCS_LEASE_DIR": str(own / "leases"),
        "LUCS_COORDINATION": store,
        **(env or {}),
    }
    pytest_args = ["--lucs-base-url", base, "--lucs-allow-changes", "--lucs-hold-time", "0.2", *extra]
    return acceptance("--reports-dir", str(own / "reports"), "--no-html", "--", *pytest_args, env=env)


def holding_after_the_block(tmp_path: Path, store: str, base: str) -> tuple[subprocess.Popen[str], Path]:
    """A first runner, held once it blocked the agent until the returned file is written."""
    paused, resume = tmp_path / "paused", tmp_path / "resume"
    hold = {"LUCS_TEST_PAUSE_AFTER": BLOCKED, "LUCS_TEST_PAUSED": str(paused), "LUCS_TEST_RESUME": str(resume)}
    first = runner("first", tmp_path, store, base, "-p", "tests.realtarget.pause_plugin", *SCENARIOS, env=hold)
    wait_for(paused.exists, "the first runner to block the agent")
    return first, resume


def lease_log(store: str, base: str) -> list[tuple[str, str, str, str, float]]:
    """The store's log of the target's leases, oldest first."""
    reader = PostgresCoordination(LucsConfig(base_url=base, coordination=store), "0000test")
    try:
        return reader.lease_log()
    finally:
        reader.close()


def assert_no_overlap(log: list[tuple[str, str, str, str, float]], runs: int) -> None:
    """No agent was ever held by two runs at once, and each run held one."""
    holders: dict[str, str] = {}
    for agent, _, run, event, _ in log:
        if event == "acquire":
            assert agent not in holders, f"{agent} leased by {run} while {holders.get(agent)} held it: {log}"
            holders[agent] = run
        else:
            assert holders.pop(agent) == run, log
    assert len({run for _, _, run, _, _ in log}) == runs, log


def test_two_pipelines_started_together_take_turns_and_both_pass(tmp_path: Path, postgres: PostgresServer) -> None:
    store = postgres.database()
    with mock_thread("--latency", "0.05") as base:
        before = agent_state(base)
        runs = [runner(name, tmp_path, store, base, *SCENARIOS) for name in ("first", "second")]
        outputs = [run.communicate(timeout=TIMEOUT)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], "\n\n".join(o[-3000:] for o in outputs)
        assert agent_state(base) == before
        assert_no_overlap(lease_log(store, base), runs=2)
    assert "precondition failed" not in "".join(outputs)


def test_a_pipeline_that_finds_the_agent_busy_waits_for_it_then_passes(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    store = postgres.database()
    with mock_thread() as base:
        before = agent_state(base)
        first, resume = holding_after_the_block(tmp_path, store, base)
        second = runner("second", tmp_path, store, base, *SCENARIOS)
        said = OutputReader(second)
        wait_for(lambda: "waiting up to 600 s for one (--lucs-lease-wait)" in said.text, "the second to wait")
        resume.touch()
        first_output, _ = first.communicate(timeout=TIMEOUT)
        second_output = said.rest(TIMEOUT)
        assert first.returncode == 0, first_output[-3000:]
        assert second.returncode == 0, second_output[-3000:]
        assert agent_state(base) == before
        assert_no_overlap(lease_log(store, base), runs=2)
    assert "lease wait over: sip:smoky.cc@dev.local free after" in second_output
    assert "precondition failed" not in first_output + second_output


class OutputReader:
    """A run's output as it comes, read on a thread of its own."""

    def __init__(self, run: subprocess.Popen[str]) -> None:
        self.run, self.text = run, ""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.run.stdout is not None
        for line in self.run.stdout:
            self.text += line

    def rest(self, timeout: float) -> str:
        self.run.wait(timeout=timeout)
        self.thread.join(timeout)
        return self.text


def test_a_runner_lost_mid_change_is_repaired_by_the_next_on_another_machine(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    store = postgres.database()
    with mock_thread() as base:
        before = agent_state(base)
        paused = tmp_path / "paused"
        pause = {"LUCS_TEST_PAUSE_AFTER": TASK_POSTED, "LUCS_TEST_PAUSED": str(paused)}
        lost = runner("lost", tmp_path, store, base, "-p", "tests.realtarget.pause_plugin", "-k", "task_for_a_blocked",
                      env=pause)  # fmt: skip
        wait_for(paused.exists, "the lost runner to post its task")
        signal_run(lost, signal.SIGKILL, "all")  # the whole job is gone, its journal folder with it
        lost.wait(timeout=TIMEOUT)
        wait_for(lambda: not session_processes(lost.pid), "every process of the lost runner to die")
        left = agent_state(base)
        assert left[0], left  # blocked ...
        assert left[3], left  # ... with a task open
        nxt = runner("next", tmp_path, store, base, *SCENARIOS)
        output, _ = nxt.communicate(timeout=TIMEOUT)
        assert nxt.returncode == 0, output[-3000:]
        assert f"undone: close task {left[3][0]}" in output, output[-4000:]
        assert "undone: unblock sip:smoky.cc@dev.local" in output
        assert agent_state(base) == before


def test_a_store_restarted_mid_run_ends_it_with_10_and_the_next_run_finishes_the_undo(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    store = postgres.database()
    with mock_thread() as base:
        before = agent_state(base)
        first, resume = holding_after_the_block(tmp_path, store, base)
        postgres.stop()
        postgres.start()
        resume.touch()
        output, _ = first.communicate(timeout=TIMEOUT)
        assert first.returncode == 10, output[-3000:]
        assert "coordination store" in output
        assert "lost" in output
        assert agent_state(base) == before  # the restore needs LUCS, not the store
        nxt = runner("next", tmp_path, store, base, *SCENARIOS)
        again, _ = nxt.communicate(timeout=TIMEOUT)
        assert nxt.returncode == 0, again[-3000:]
        assert "undone: unblock sip:smoky.cc@dev.local" in again  # the mark the lost store missed: done again
        assert agent_state(base) == before


def test_a_store_nobody_answers_ends_the_run_with_10_before_lucs_hears_of_it(tmp_path: Path) -> None:
    store = f"postgresql://lucs:s3cret@127.0.0.1:{free_port()}/lucs"
    log = tmp_path / "mock.log"
    with mock_process(log=log) as base:
        run = runner("alone", tmp_path, store, base, *SCENARIOS)
        output, _ = run.communicate(timeout=TIMEOUT)
    assert run.returncode == 10, output[-3000:]
    assert "coordination store postgresql://lucs:***@127.0.0.1:" in output
    assert "cannot be reached" in output
    assert "s3cret" not in output
    assert "Traceback" not in output
    assert "/v1.0/" not in log.read_text()  # nothing was sent to LUCS
