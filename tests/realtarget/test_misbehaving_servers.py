"""Bounded whatever the server does: one that never answers, one that sends 50 MB, one that sends
JSON nested 600 deep, one that dies mid-run, one that starts answering a byte at a time mid-run.
Each through `lucs-acceptance`, as a user runs it: wall time, exit code, terminal output and report
sizes asserted."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from tests.realtarget.misbehaving import (
    answering_server,
    huge_body,
    nested_body,
    silent_server,
    trickling_relay,
    url_of,
)
from tests.realtarget.support import acceptance, agent_state, mock_server, wait_for

FAST = ["--lucs-connect-timeout", "1", "--lucs-read-timeout", "1", "--lucs-wait-timeout", "1"]
# every kind of call the suite makes: a list, a block and its restore, a task, a presence, a callback
SOME = ["-m", "smoke"]


def run(reports: Path, base: str, *extra: str, html: bool = False) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    publishing = [f"--history={reports / 'history.jsonl'}"] if html else ["--no-html"]
    args = ["--reports-dir", str(reports), *publishing, "--", "--lucs-base-url", base, *FAST]
    process = acceptance(*args, *extra)
    output, _ = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, output), time.monotonic() - started


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_server_that_never_answers_is_unreachable_within_the_timeouts(tmp_path: Path) -> None:
    with silent_server() as base:
        done, elapsed = run(tmp_path, base)
    assert done.returncode == 10, done.stdout[-3000:]
    assert elapsed < 10, elapsed  # start-up plus one read timeout, not every scenario's
    assert "LUCS could not be reached" in done.stdout
    assert len(done.stdout) < 10_000
    assert "LUCS could not be reached" in (tmp_path / "junit.xml").read_text()


def test_a_50_mb_answer_fails_its_calls_unread_and_the_reports_stay_small(tmp_path: Path) -> None:
    with answering_server(*huge_body()) as server:
        done, elapsed = run(tmp_path, url_of(server), "--lucs-allow-changes", *SOME, html=True)
        sent = server.sent
    assert done.returncode == 1, done.stdout[-3000:]
    assert "INTERNALERROR" not in done.stdout
    assert "response larger than 4 MB" in done.stdout
    assert elapsed < 60, elapsed
    assert len(done.stdout) < 300_000, len(done.stdout)
    assert size_of(tmp_path) < 25_000_000, size_of(tmp_path)
    assert (tmp_path / "report.html").is_file()
    assert sent < 400 * 1024 * 1024  # far less than 50 MB for each of the run's calls


def test_json_nested_600_deep_fails_its_steps_cleanly(tmp_path: Path) -> None:
    with answering_server(*nested_body()) as server:
        done, elapsed = run(tmp_path, url_of(server), "--lucs-allow-changes", *SOME)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "INTERNALERROR" not in done.stdout
    assert "nested deeper than" in done.stdout
    assert elapsed < 60, elapsed
    assert len(done.stdout) < 300_000, len(done.stdout)
    assert (tmp_path / "junit.xml").is_file()


def test_a_server_that_dies_mid_run_ends_it_as_unreachable_and_says_what_is_not_restored(tmp_path: Path) -> None:
    with mock_server("--latency", "0.1") as (base, server):
        process = acceptance(
            "--reports-dir", str(tmp_path), "--no-html", "--", "--lucs-base-url", base, *FAST,
            "--lucs-allow-changes", "-k", "task_for_a_blocked or setting_the_presence or listed",
        )  # fmt: skip
        wait_for(lambda: agent_state(base)[0], "the agent to be blocked")
        server.kill()
        started = time.monotonic()
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 10, output[-3000:]
    assert time.monotonic() - started < 30
    assert "LUCS stopped answering" in output
    assert "LUCS STATE NOT RESTORED" in output
    assert "unblock sip:smoky.cc@dev.local" in output


def test_a_server_that_starts_trickling_mid_run_ends_it_as_unreachable_by_the_deadlines(tmp_path: Path) -> None:
    """A byte every 50 ms never lets a 1 s read timeout fire: only the deadlines end the calls and
    the restore (before them, each answer took its full length x 50 ms, and this run ended after
    41 s with exit 1, never as unreachable). The restore's deadline comes before the exchange's, so
    its undo names it; the undos after it are not attempted, and the later scenarios are skipped
    (their agent was left changed): hence 2 transport errors in a row end the run."""
    with mock_server("--latency", "0.1") as (base, _), trickling_relay(base) as relay:
        process = acceptance(
            "--reports-dir", str(tmp_path), "--no-html", "--", "--lucs-base-url", url_of(relay), *FAST,
            "--lucs-exchange-timeout", "1", "--lucs-restore-timeout", "0.8", "--lucs-unreachable-after", "2",
            "--lucs-allow-changes", "-k", "task_for_a_blocked or setting_the_presence or listed",
        )  # fmt: skip
        wait_for(lambda: agent_state(base)[0], "the agent to be blocked")
        relay.trickle.set()
        started = time.monotonic()
        output, _ = process.communicate(timeout=120)
        elapsed = time.monotonic() - started
    assert process.returncode == 10, output[-3000:]
    assert elapsed < 20, elapsed  # a step's call cut at 1 s, the restore at 0.8 s, the reports
    assert "LUCS stopped answering: 2 transport errors in a row" in output  # the step's, then the first undo's
    assert "the exchange deadline (exchange_timeout 1 s) passed " in output
    assert "LUCS STATE NOT RESTORED" in output
    assert "the restore deadline (restore_timeout) passed " in output
    assert re.search(r"LUCS acceptance: .* -> exit 10 \(LUCS could not be reached\)", output), output[-3000:]
