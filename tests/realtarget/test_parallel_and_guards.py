"""Parallel workers share a real target safely; guard rails keep a real LUCS untouched unless asked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from lucs_harness.leases import FileLease
from lucs_harness.mock.control import MockControl
from tests.realtarget.support import free_port, mock_thread, run_suite
from tests.support.suite import scenario_tags

POOL = "sip:smoky.cc@dev.local,sip:smoky.dd@dev.local"


def test_two_workers_never_hold_the_same_agent(tmp_path: Path) -> None:
    with mock_thread() as base:
        done = run_suite(
            "-n",
            "2",
            "--lucs-base-url",
            base,
            "--lucs-allow-changes",
            "--lucs-agents",
            POOL,
            "--lucs-lease-dir",
            str(tmp_path),
        )
        assert done.returncode == 0, done.stdout[-3000:]
        state = MockControl(base).state()
    events = [json.loads(line) for line in (tmp_path / "leases.log").read_text().splitlines()]
    held: dict[str, str] = {}
    for event in events:
        if event["event"] == "acquire":
            assert event["agent"] not in held, f"{event['agent']} leased twice at once: {events}"
            held[event["agent"]] = event["holder"]
        else:
            assert held.pop(event["agent"]) == event["holder"]
    assert held == {}
    assert {e["holder"] for e in events} == {"gw0", "gw1"}
    assert {e["agent"] for e in events} == set(POOL.split(","))
    assert all(not u["Blocked"] and u["TaskId"] is None for u in state["users"])


def test_a_pool_smaller_than_the_workers_is_refused_before_anything_runs() -> None:
    done = run_suite("-n", "2", "--lucs-base-url", "http://127.0.0.1:9", "--lucs-agents", "sip:smoky.cc@dev.local")
    assert done.returncode == 4
    assert "2 xdist workers need 2 agents, but the agent pool has 1" in done.stdout + done.stderr


def run_while_another_run_holds_curt(leases: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The suite against a separate mock while another run holds the lease on Curt."""
    with mock_thread() as base:
        other_run = FileLease.take(leases, "sip:smoky.cc@dev.local", "other-run")
        assert other_run is not None
        try:
            return run_suite("--lucs-base-url", base, "--lucs-lease-dir", str(leases), "--lucs-lease-wait=0", *args)
        finally:
            other_run.release()


def test_a_worker_without_a_free_agent_fails_its_scenarios_and_the_run_ends_with_13(tmp_path: Path) -> None:
    done = run_while_another_run_holds_curt(tmp_path, "-n", "2", "--lucs-agents", POOL, "--lucs-allow-changes")
    assert done.returncode == 13, done.stdout[-2000:]
    assert "no agent free for gw" in done.stdout


def test_a_second_run_finds_the_pool_taken_and_says_so(tmp_path: Path) -> None:
    done = run_while_another_run_holds_curt(tmp_path)
    assert done.returncode == 13, done.stdout[-2000:]
    assert "all 1 agent(s) of the pool stayed leased by other live runs for 0 s" in done.stdout


def test_state_changing_scenarios_are_skipped_against_a_real_target_without_consent() -> None:
    with mock_thread() as base:
        done = run_suite("--lucs-base-url", base, "-rs")
        state = MockControl(base).state()
    assert done.returncode == 0, done.stdout[-3000:]
    skipped = sum(bool(tags & {"changes-state", "mock-only"}) for tags in scenario_tags())
    assert f"{len(scenario_tags()) - skipped} passed, {skipped} skipped" in done.stdout
    assert "changes not allowed on this target (--lucs-allow-changes)" in done.stdout
    assert state["tasks"] == []
    assert state["callbacks"] == []


def test_a_dry_run_prints_the_requests_and_sends_none(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: any request would fail the run
    junit = tmp_path / "junit.xml"
    done = run_suite(
        "--lucs-base-url",
        closed,
        "--lucs-dry-run",
        "--lucs-allow-changes",
        "-k",
        "blocking_takes",
        f"--junitxml={junit}",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"none was sent to {closed}" in done.stdout
    assert f"POST {closed}/v1.0/users/{{id of sip:smoky.cc@dev.local}}/block" in done.stdout
    assert f"POST {closed}/v1.0/users/{{id of sip:smoky.cc@dev.local}}/unblock" in done.stdout
    assert 'name="lucs.dry_run"' in junit.read_text()  # the report says nothing was sent


def test_a_dry_run_skips_what_the_real_run_would_skip() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    done = run_suite("--lucs-base-url", closed, "--lucs-dry-run", "-rs", "-k", "blocking_takes or rona")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "changes not allowed on this target (--lucs-allow-changes)" in done.stdout
    assert "mock-only (needs the mock's clock)" in done.stdout
    assert "/block" not in done.stdout.split("LUCS DRY RUN")[-1]


def test_show_config_prints_the_layers_with_secrets_masked(tmp_path: Path) -> None:
    done = run_suite(
        "--lucs-show-config", "--lucs-read-timeout", "4", env={"LUCS_AUTH": "bearer", "LUCS_TOKEN": "t0p-s3cret"}
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
    assert (shown["auth"], shown["token"], shown["read_timeout"]) == ("bearer", "***", 4.0)
    assert shown["paths"]["block_user"] == "/v1.0/users/{userId}/block"
    assert "t0p-s3cret" not in done.stdout + done.stderr
